"""One model shape for every core: ``SequenceModel(encoder, core, decoder)``, which tasks call.

The encoder turns frames ``(B, T, C, H, W)`` into what the core reads (vectors ``(B, T, F)`` or maps
``(B, T, C', H', W')``), the core recurs, the decoder turns its outputs into frames (next-frame
tasks) or features ``(B, T, F)`` (for a classifier head). The adapters are chosen from the core's
``frame_input`` and the model config's adapter keys (:class:`FrameAdapters`):

- vector core, ``model.encoder=flatten`` (default): frames flattened; to frames: the head maps
  ``H`` to ``C*H*W``; to features: the core's outputs as they are.
- vector core, ``model.encoder=cnn`` (widths ``model.encoder_channels``): a strided CNN per frame;
  to frames: the head maps ``H`` to the CNN's last map and transposed convolutions mirror it.
- spatial core, ``model.encoder=patchify`` (default; ``model.patch_size``): space-to-depth; to
  frames: a 1x1 convolution and depth-to-space; to features: the mean over positions.

``model.compile=true`` runs the three parts through ``torch.compile``
(:meth:`SequenceModel.prepare`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.models.cells.base import FRAME_INPUTS, core_kind
from rnnlab.models.decoders import (
    CNNFrameDecoder,
    ConvFrameDecoder,
    PooledFeatures,
    VectorFeatures,
    VectorFrameDecoder,
)
from rnnlab.models.encoders import CNNEncoder, FlattenEncoder, FrameShape, PatchEncoder
from rnnlab.values import BOOLEAN, POSITIVE_INT, Rule, list_of, one_of

# Graphs torch.compile may build per compiled function (model.compile=true: SequenceModel.prepare)
RECOMPILE_LIMIT = 64
ENCODERS: dict[str, tuple[str, ...]] = {"vector": ("flatten", "cnn"), "spatial": ("patchify",)}
Output = Literal["frames", "features"]


class SequenceModel(nn.Module):
    """``encoder -> core -> decoder`` over a sequence of frames, in sequence or step mode.

    ``forward(frames (B, T, C, H, W), state=None) -> (decoded (B, T, ...), state)``;
    :meth:`step` does one frame ``(B, C, H, W)``, continuing ``state`` (autoregressive rollout).
    """

    def __init__(
        self, encoder: nn.Module, core: nn.Module, decoder: nn.Module, compile: bool = False
    ) -> None:
        super().__init__()
        self.encoder, self.core, self.decoder = encoder, core, decoder
        self.compile_parts, self._compiled = compile, False

    def prepare(self) -> None:
        """With ``compile=True`` (``model.compile=true``): compile the encoder, core and decoder
        with ``torch.compile``, once. In place (``nn.Module.compile``): parameter names and
        checkpoints do not change. Tasks call it from Lightning's ``configure_model``, in the
        process that trains (after ``ddp_spawn`` has pickled the model). Shapes are static: each
        sequence length a step sees (context, one frame, the whole sequence) and each batch size
        compiles once (torch 2.13's inductor failed on the dynamic-shape graph of the decoder):
        with gradients or without, in float32 or under autocast, a split's last partial batch.
        That is more than torch's default of 8 graphs per function, so the limit is raised to
        :data:`RECOMPILE_LIMIT` (past it, torch runs that part uncompiled and says so)."""
        if self.compile_parts and not self._compiled:
            import torch._dynamo

            config = torch._dynamo.config
            config.recompile_limit = max(config.recompile_limit, RECOMPILE_LIMIT)
            for part in (self.encoder, self.core, self.decoder):
                part.compile(dynamic=False)
            self._compiled = True

    def recur(self, frames: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """Frames ``(B, T, C, H, W)`` -> the core's outputs ``(B, T, ...)`` and its state."""
        return self.core(self.encoder(frames), state)

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """The core's outputs ``(B, T, ...)`` -> frames ``(B, T, C, H, W)`` or features."""
        return self.decoder(outputs)

    def forward(self, frames: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        outputs, state = self.recur(frames, state)
        return self.decode(outputs), state

    def step(self, frame: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        """One frame ``(B, C, H, W)`` -> decoded ``(B, ...)`` and the state after it."""
        decoded, state = self(frame.unsqueeze(1), state)  # (B, 1, ...)
        return decoded.squeeze(1), state


@dataclass(frozen=True)
class FrameAdapters:
    """The model config's keys for what rnnlab builds around its core: the frame adapters, and
    whether the model is compiled (rnnlab reads them itself; they are not passed to the core).

    ``encoder``: ``flatten`` or ``cnn`` for vector cores, ``patchify`` for spatial ones (``None``:
    the first of those). ``encoder_channels``: the CNN encoder's widths, one strided layer each.
    ``patch_size``: the patchify encoder's patch (space-to-depth). ``compile``: run the encoder,
    core and decoder through ``torch.compile`` (:meth:`SequenceModel.prepare`).
    """

    encoder: str | None = None
    encoder_channels: Sequence[int] = (16, 32, 32)
    patch_size: int = 1
    compile: bool = False

    value_rules: ClassVar[dict[str, Rule]] = {
        "encoder": one_of(*dict.fromkeys(e for kind in ENCODERS.values() for e in kind)).or_null(),
        "encoder_channels": list_of(POSITIVE_INT),
        "patch_size": POSITIVE_INT,
        "compile": BOOLEAN,
    }

    def encoder_for(self, kind: str, frame_shape: FrameShape) -> nn.Module:
        """The encoder for a core reading ``kind`` (``vector`` | ``spatial``)."""
        if kind not in FRAME_INPUTS:
            raise ConfigError(
                f"The model's core declares frame_input={kind!r}; use one of: "
                f"{', '.join(FRAME_INPUTS)}."
            )
        name = self.encoder or ENCODERS[kind][0]
        if name not in ENCODERS[kind]:
            raise ConfigError(
                f"model.encoder={name} cannot feed this core: it reads {kind} inputs. Use "
                f"model.encoder={' or '.join(ENCODERS[kind])}."
            )
        if self.patch_size != 1 and name != "patchify":
            raise ConfigError(
                f"model.patch_size={self.patch_size} applies to spatial (convolutional) cores "
                f"only; this core reads {kind} inputs through model.encoder={name}."
            )
        if name == "cnn":
            return CNNEncoder(frame_shape, self.encoder_channels)
        if name == "patchify":
            return PatchEncoder(frame_shape, self.patch_size)
        return FlattenEncoder(frame_shape)

    def decoder_for(
        self,
        output: Output,
        encoder: nn.Module,
        core: nn.Module,
        frame_shape: FrameShape,
        build_head: Callable[[int, int], nn.Module] | None = None,
    ) -> nn.Module:
        """The decoder from ``core``'s outputs to ``output``; vector cores' frame decoders start
        with ``build_head(in_features, out_features)``."""
        if encoder.kind == "spatial":
            channels = core_width(core, "output_channels")
            if output == "features":
                return PooledFeatures(channels)
            return ConvFrameDecoder(channels, frame_shape[0], encoder.patch_size)
        size = core_width(core, "output_size")
        if output == "features":
            return VectorFeatures(size)
        if build_head is None:
            raise TypeError("a vector core's frame decoder needs build_head")
        if isinstance(encoder, CNNEncoder):
            return CNNFrameDecoder(build_head(size, encoder.output_size), encoder, frame_shape[0])
        return VectorFrameDecoder(build_head(size, encoder.output_size), frame_shape)


def core_width(core: nn.Module, attribute: str) -> int:
    """``core.output_size`` (vector) or ``core.output_channels`` (spatial), or a clear error."""
    value = getattr(core, attribute, None)
    if not isinstance(value, int):
        raise ConfigError(
            f"The model's core {type(core).__qualname__} has no integer `{attribute}` attribute; "
            f"a {core.frame_input} core sets it to the size of its outputs (README: your own cell)."
        )
    return value


def assemble(
    core_class: type,
    build_core: Callable[..., nn.Module],
    frame_shape: FrameShape,
    output: Output,
    adapters: FrameAdapters,
    build_head: Callable[[int, int], nn.Module] | None = None,
) -> SequenceModel:
    """Encoder, core and decoder for frames of ``frame_shape`` (built in that order).

    ``build_core(**injected)`` builds the core with ``input_size`` (vector) or ``input_channels``
    (spatial), the size the encoder gives.
    """
    encoder = adapters.encoder_for(core_kind(core_class), frame_shape)
    if encoder.kind == "spatial":
        core = build_core(input_channels=encoder.output_channels)
    else:
        core = build_core(input_size=encoder.output_size)
    decoder = adapters.decoder_for(output, encoder, core, frame_shape, build_head)
    return SequenceModel(encoder, core, decoder, compile=adapters.compile)
