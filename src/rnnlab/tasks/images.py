"""Images for TensorBoard: prediction strips (context / truth / prediction / absolute error) and
per-horizon metric curves.

Strips are built on the device of the frames (a GPU run needs no copy per frame); the caller moves
the one finished image to the CPU. Curves are drawn from plain floats on matplotlib's Agg canvas
(no pyplot state, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F


def _row(frames: torch.Tensor, width: int, gap: int) -> torch.Tensor:
    """Frames ``(T, C, H, W)`` side by side with ``gap`` px between them, padded to ``width`` px."""
    padded = F.pad(frames, (0, gap), value=1.0)  # white gap right of each frame
    row = torch.cat(list(padded), dim=-1)  # (C, H, T*(W+gap))
    return F.pad(row, (0, width - row.shape[-1]), value=0.0)


def prediction_strip(
    context: torch.Tensor, truth: torch.Tensor, prediction: torch.Tensor, gap: int = 2
) -> torch.Tensor:
    """One image ``(C, 4*H + 3*gap, W')`` for one sequence: a row each for the context frames
    ``(Tc, C, H, W)``, the true future ``(Tp, C, H, W)``, the predicted future and the absolute
    error ``|truth - prediction|``, in [0, 1]."""
    step = context.shape[-1] + gap
    width = max(context.shape[0], truth.shape[0]) * step
    error = (truth - prediction.clamp(0, 1)).abs()  # (Tp, C, H, W)
    rows = [_row(frames.clamp(0, 1), width, gap) for frames in (context, truth, prediction, error)]
    separator = rows[0].new_ones(rows[0].shape[0], gap, width)  # (C, gap, W')
    parts = [piece for row in rows for piece in (row, separator)][:-1]
    return torch.cat(parts, dim=1)


def prediction_strips(
    context: torch.Tensor, truth: torch.Tensor, prediction: torch.Tensor, gap: int = 2
) -> torch.Tensor:
    """Strips of a batch stacked top to bottom: ``(N, Tc|Tp, C, H, W)`` inputs -> one image
    ``(C, N*(4*H + 3*gap) + (N-1)*3*gap, W')`` in [0, 1], black bands between sequences."""
    strips = [
        prediction_strip(c, t, p, gap) for c, t, p in zip(context, truth, prediction, strict=True)
    ]
    band = strips[0].new_zeros(strips[0].shape[0], 3 * gap, strips[0].shape[-1])
    parts = [piece for strip in strips for piece in (strip, band)][:-1]
    return torch.cat(parts, dim=1)


class StripSamples:
    """The first ``n`` sequences of an evaluation pass (a fixed set: validation and test loaders
    are not shuffled, so the same sequences every epoch and after a resume), gathered across
    batches of any size, kept on the frames' device.

    ``add(context (B, Tc, C, H, W), truth (B, Tp, ...), prediction (B, Tp, ...))`` per batch, in
    loader order; :meth:`image` builds their :func:`prediction_strips` on that device (``None``
    before any batch); :meth:`reset` starts the next pass.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self._count = 0

    def add(self, context: torch.Tensor, truth: torch.Tensor, prediction: torch.Tensor) -> None:
        take = min(self.n - self._count, context.shape[0])
        if take <= 0:
            return
        self._parts.append(tuple(x[:take].detach() for x in (context, truth, prediction)))
        self._count += take

    @property
    def full(self) -> bool:
        return self._count >= self.n

    def image(self) -> torch.Tensor | None:
        """``(C, H', W')`` strips of the sequences gathered, on their device, or ``None``."""
        if not self._parts:
            return None
        context, truth, prediction = (torch.cat(parts) for parts in zip(*self._parts, strict=True))
        return prediction_strips(context, truth, prediction)

    def reset(self) -> None:
        self._parts, self._count = [], 0


def horizon_image(curves: Mapping[str, Sequence[float]], stage: str) -> np.ndarray:
    """One panel per metric, its value at 1, 2, ... frames ahead (``curves``: name -> values),
    drawn with matplotlib's Agg canvas: an RGB image ``(3, H, W)`` uint8 for ``add_image``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(3.0 * len(curves), 2.6), dpi=80, layout="constrained")
    axes = figure.subplots(1, len(curves), squeeze=False)[0]
    for ax, (name, values) in zip(axes, curves.items(), strict=True):
        ax.plot(range(1, len(values) + 1), values, marker=".")
        ax.set_title(f"{stage}/{name}", fontsize=9)
        ax.set_xlabel("frames ahead", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())  # (H, W, 4)
    return np.ascontiguousarray(rgba[..., :3].transpose(2, 0, 1))  # (3, H, W)
