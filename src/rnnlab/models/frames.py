"""Frame encoders and decoders between image frames and what a recurrent core consumes.

Dense cores (``frame_input = "vector"``) see each frame flattened to ``C*H*W`` features, and the
decoder maps the core's outputs back to frames with a head of ``C*H*W`` outputs.
"""

from __future__ import annotations

import math

import torch


def flatten_frames(frames: torch.Tensor) -> torch.Tensor:
    """``(B, T, C, H, W)`` -> ``(B, T, C*H*W)``."""
    return frames.flatten(start_dim=2)


def unflatten_frames(vectors: torch.Tensor, frame_shape: tuple[int, int, int]) -> torch.Tensor:
    """``(B, T, C*H*W)`` -> ``(B, T, C, H, W)``."""
    return vectors.unflatten(2, frame_shape)


def frame_size(frame_shape: tuple[int, int, int]) -> int:
    """Number of values in one frame ``(C, H, W)``."""
    return math.prod(frame_shape)
