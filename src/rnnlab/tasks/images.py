"""Images for TensorBoard: prediction strips (context / ground truth / prediction)."""

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
    """One image ``(C, 3*H + 2*gap, W')`` for one sequence: a row each for the context frames
    ``(Tc, C, H, W)``, the true future ``(Tp, C, H, W)`` and the predicted future, in [0, 1]."""
    step = context.shape[-1] + gap
    width = max(context.shape[0], truth.shape[0]) * step
    rows = [_row(frames.clamp(0, 1), width, gap) for frames in (context, truth, prediction)]
    separator = torch.ones(rows[0].shape[0], gap, width, dtype=rows[0].dtype)
    return torch.cat([rows[0], separator, rows[1], separator, rows[2]], dim=1)


def prediction_strips(
    context: torch.Tensor, truth: torch.Tensor, prediction: torch.Tensor, gap: int = 2
) -> torch.Tensor:
    """Strips of a batch stacked top to bottom: ``(N, Tc|Tp, C, H, W)`` inputs -> one image
    ``(C, N*(3*H + 2*gap) + (N-1)*3*gap, W')`` in [0, 1], black bands between sequences."""
    strips = [
        prediction_strip(c, t, p, gap) for c, t, p in zip(context, truth, prediction, strict=True)
    ]
    band = torch.zeros(strips[0].shape[0], 3 * gap, strips[0].shape[-1], dtype=strips[0].dtype)
    parts = [piece for strip in strips for piece in (strip, band)][:-1]
    return torch.cat(parts, dim=1)
