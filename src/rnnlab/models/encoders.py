"""Frame encoders: frames ``(B, T, C, H, W)`` -> what a core reads.

- :class:`FlattenEncoder` (vector cores): each frame as one vector of ``C*H*W`` values.
- :class:`CNNEncoder` (vector cores): a small strided CNN per frame, flattened (CNN -> RNN, as in
  LRCN); :class:`rnnlab.models.decoders.CNNFrameDecoder` mirrors it.
- :class:`PatchEncoder` (spatial cores): space-to-depth, ``p x p`` patches become channels
  (a 64x64x1 frame with patch 4 -> 16x16x16), as the video-prediction benchmarks do.

Each encoder has ``kind`` (``"vector"``: ``output_size``; ``"spatial"``: ``output_channels``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.errors import ConfigError

FrameShape = tuple[int, int, int]  # (C, H, W)


class FlattenEncoder(nn.Module):
    """``(B, T, C, H, W)`` -> ``(B, T, C*H*W)``; no parameters."""

    kind = "vector"

    def __init__(self, frame_shape: FrameShape) -> None:
        super().__init__()
        self.output_size = math.prod(frame_shape)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return frames.flatten(start_dim=2)  # (B, T, C*H*W)


class PatchEncoder(nn.Module):
    """Space-to-depth: ``(B, T, C, H, W)`` -> ``(B, T, C*p*p, H/p, W/p)``; no parameters."""

    kind = "spatial"

    def __init__(self, frame_shape: FrameShape, patch_size: int = 1) -> None:
        super().__init__()
        channels, height, width = frame_shape
        if height % patch_size or width % patch_size:
            raise ConfigError(
                f"model.patch_size={patch_size} does not divide the frames' height and width "
                f"({height}x{width}). Use a patch size that divides both (1, 2 or 4 for 64x64)."
            )
        self.patch_size = patch_size
        self.output_channels = channels * patch_size**2
        self.output_hw = (height // patch_size, width // patch_size)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        maps = F.pixel_unshuffle(frames.flatten(0, 1), self.patch_size)  # (B*T, C*p*p, H/p, W/p)
        return maps.unflatten(0, (b, t))  # (B, T, C*p*p, H/p, W/p)


class CNNEncoder(nn.Module):
    """Per frame: ``Conv2d(3x3, stride 2) -> ReLU`` for each width in ``channels``, flattened.

    ``(B, T, C, H, W)`` -> ``(B, T, c_last * h * w)`` where each layer halves the height and width
    (rounding up). ``sizes`` holds the ``(H, W)`` before each layer and after the last, for the
    mirrored decoder.
    """

    kind = "vector"

    def __init__(self, frame_shape: FrameShape, channels: Sequence[int] = (16, 32, 32)) -> None:
        super().__init__()
        in_channels, height, width = frame_shape
        widths = [in_channels, *channels]
        self.layers = nn.ModuleList(
            nn.Conv2d(c_in, c_out, kernel_size=3, stride=2, padding=1)
            for c_in, c_out in itertools.pairwise(widths)
        )
        self.sizes = [(height, width)]
        for _ in channels:
            height, width = (height + 1) // 2, (width + 1) // 2
            self.sizes.append((height, width))
        self.channels = list(channels)
        self.map_shape = (widths[-1], height, width)  # (c_last, h, w)
        self.output_size = math.prod(self.map_shape)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        x = frames.flatten(0, 1)  # (B*T, C, H, W)
        for layer in self.layers:
            x = F.relu(layer(x))  # (B*T, c_l, H_l, W_l)
        return x.flatten(1).unflatten(0, (b, t))  # (B, T, c_last*h*w)
