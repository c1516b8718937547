"""Frame encoders and decoders between image frames and what a recurrent core consumes.

Dense cores (``frame_input = "vector"``) see each frame flattened to ``C*H*W`` features, and the
decoder maps the core's outputs back to frames with a head of ``C*H*W`` outputs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from rnnlab.config import build_from_config, import_target
from rnnlab.errors import ConfigError


def flatten_frames(frames: torch.Tensor) -> torch.Tensor:
    """``(B, T, C, H, W)`` -> ``(B, T, C*H*W)``."""
    return frames.flatten(start_dim=2)


def unflatten_frames(vectors: torch.Tensor, frame_shape: tuple[int, int, int]) -> torch.Tensor:
    """``(B, T, C*H*W)`` -> ``(B, T, C, H, W)``."""
    return vectors.unflatten(2, frame_shape)


def frame_size(frame_shape: tuple[int, int, int]) -> int:
    """Number of values in one frame ``(C, H, W)``."""
    return math.prod(frame_shape)


def build_core(model: dict[str, Any], frame_shape: tuple[int, int, int]) -> nn.Module:
    """Build the core described by the ``model`` config for frames of ``frame_shape``.

    The core's class says what it consumes (``frame_input``); dense cores get ``input_size``.
    """
    core_class = import_target(model.get("_target_"), "model")
    frame_input = getattr(core_class, "frame_input", "vector")
    if frame_input != "vector":
        raise ConfigError(
            f"model._target_={model['_target_']!r} declares frame_input={frame_input!r}; "
            "this version of rnnlab feeds cores flattened frames only (frame_input='vector')."
        )
    return build_from_config(model, "model", input_size=frame_size(frame_shape))
