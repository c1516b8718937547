"""Images for TensorBoard: prediction strips (context / truth / prediction / absolute error).

Built on the device of the frames (a GPU run needs no copy per frame); the caller moves the one
finished image to the CPU.
"""

from __future__ import annotations

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
