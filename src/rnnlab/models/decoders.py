"""Decoders: a core's outputs -> frames (next-frame tasks) or features (for a classifier head).

To frames ``(B, T, C, H, W)`` (raw: before the task's output activation; logits for bce):

- :class:`VectorFrameDecoder` (vector cores, flatten encoder): the head maps ``H`` to ``C*H*W``.
- :class:`CNNFrameDecoder` (vector cores, CNN encoder): the head maps ``H`` to the encoder's last
  map, transposed convolutions mirror the encoder back to the frame.
- :class:`ConvFrameDecoder` (spatial cores): a 1x1 convolution read-out to ``C*p*p`` channels,
  then depth-to-space (the inverse of :class:`rnnlab.models.encoders.PatchEncoder`).

Every frame decoder has :meth:`FrameDecoder.init_output_bias`: its last layer's bias set to one
value (``-3`` with sigmoid outputs: the first predictions are near-blank frames).

To features ``(B, T, F)`` with ``output_size = F``: :class:`VectorFeatures` (vector cores: their
outputs as they are) and :class:`PooledFeatures` (spatial cores: the mean over positions).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.models.encoders import CNNEncoder, FrameShape


class FrameDecoder(nn.Module):
    """Base of the decoders to frames: :attr:`output_layer` is the layer that writes the frame."""

    @property
    def output_layer(self) -> nn.Module:
        raise NotImplementedError

    def init_output_bias(self, value: float) -> None:
        """Set every element of the output layer's bias to ``value`` (in place, no grad)."""
        bias = getattr(self.output_layer, "bias", None)
        if not isinstance(bias, torch.Tensor):
            raise ConfigError(
                f"task.output_bias={value} needs a bias in the decoder's last layer, but "
                f"{type(self.output_layer).__qualname__} has none. Set task.output_bias=null."
            )
        with torch.no_grad():
            bias.fill_(value)


class VectorFrameDecoder(FrameDecoder):
    """``(B, T, H)`` -> ``head`` -> ``(B, T, C*H*W)`` -> ``(B, T, C, H, W)``."""

    def __init__(self, head: nn.Module, frame_shape: FrameShape) -> None:
        super().__init__()
        self.head, self.frame_shape = head, tuple(frame_shape)

    @property
    def output_layer(self) -> nn.Module:
        """The head's last layer with parameters (a user's head: the last such module)."""
        return last_layer(self.head)

    def forward(self, outputs: torch.Tensor) -> torch.Tensor:
        return self.head(outputs).unflatten(2, self.frame_shape)  # (B, T, C, H, W)


def last_layer(module: nn.Module) -> nn.Module:
    """The last submodule of ``module`` (in registration order) that has its own parameters."""
    layers = [m for m in module.modules() if any(True for _ in m.parameters(recurse=False))]
    if not layers:
        raise ConfigError(f"{type(module).__qualname__} has no layer with parameters.")
    return layers[-1]


class CNNFrameDecoder(FrameDecoder):
    """``(B, T, H)`` -> ``head`` -> the encoder's last map -> ``ReLU -> ConvTranspose2d`` per
    encoder layer, in reverse -> ``(B, T, C, H, W)``."""

    def __init__(self, head: nn.Module, encoder: CNNEncoder, frame_channels: int) -> None:
        super().__init__()
        self.head, self.map_shape = head, encoder.map_shape
        widths = [frame_channels, *encoder.channels][::-1]  # c_last ... c_1, C
        self.layers = nn.ModuleList(
            nn.ConvTranspose2d(c_in, c_out, kernel_size=3, stride=2, padding=1)
            for c_in, c_out in itertools.pairwise(widths)
        )
        self.sizes = encoder.sizes[-2::-1]  # (H, W) after each layer: mirrors the encoder

    @property
    def output_layer(self) -> nn.Module:
        return self.layers[-1]

    def forward(self, outputs: torch.Tensor) -> torch.Tensor:
        b, t = outputs.shape[:2]
        x = self.head(outputs).flatten(0, 1).unflatten(1, self.map_shape)  # (B*T, c, h, w)
        for layer, size in zip(self.layers, self.sizes, strict=True):
            x = layer(F.relu(x), output_size=size)  # (B*T, c_l, H_l, W_l)
        return x.unflatten(0, (b, t))  # (B, T, C, H, W)


class ConvFrameDecoder(FrameDecoder):
    """``(B, T, C_h, h, w)`` -> 1x1 conv -> ``(B, T, C*p*p, h, w)`` -> ``(B, T, C, h*p, w*p)``."""

    def __init__(self, hidden_channels: int, frame_channels: int, patch_size: int = 1) -> None:
        super().__init__()
        self.readout = nn.Conv2d(hidden_channels, frame_channels * patch_size**2, kernel_size=1)
        self.patch_size = patch_size

    @property
    def output_layer(self) -> nn.Module:
        return self.readout

    def forward(self, outputs: torch.Tensor) -> torch.Tensor:
        b, t = outputs.shape[:2]
        maps = self.readout(outputs.flatten(0, 1))  # (B*T, C*p*p, h, w)
        return F.pixel_shuffle(maps, self.patch_size).unflatten(0, (b, t))  # (B, T, C, H, W)


class VectorFeatures(nn.Module):
    """A vector core's outputs ``(B, T, H)`` as features for a head; no parameters."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.output_size = size

    def forward(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs  # (B, T, H)


class PooledFeatures(nn.Module):
    """A spatial core's maps ``(B, T, C_h, h, w)`` -> their mean over positions ``(B, T, C_h)``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.output_size = channels

    def forward(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.mean(dim=(-2, -1))  # (B, T, C_h)
