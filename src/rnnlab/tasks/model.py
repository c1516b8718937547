"""Build a task's :class:`~rnnlab.models.SequenceModel` from the ``model`` config.

The core comes from the one builder (it gets ``input_size`` or ``input_channels`` from the
encoder); the adapter keys of the config (``model.encoder``, ``model.encoder_channels``,
``model.patch_size``) choose the encoder and decoder for the core's kind.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from rnnlab.config import build_from_config, import_target
from rnnlab.config.builder import split_adapter_keys
from rnnlab.models.encoders import FrameShape
from rnnlab.models.sequence_model import FrameAdapters, Output, SequenceModel, assemble


def build_model(
    model: dict[str, Any],
    frame_shape: FrameShape,
    output: Output,
    head: dict[str, Any] | None = None,
) -> SequenceModel:
    """The model for frames ``(C, H, W) = frame_shape`` whose decoder gives ``output``
    (``frames`` or ``features``); vector cores' frame decoders start with the ``head`` config."""
    own, adapter_config = split_adapter_keys(model, "model")
    core_class = import_target(own.get("_target_"), "model")

    def build_core(**injected: Any) -> nn.Module:
        return build_from_config(model, "model", **injected)

    def build_head(in_features: int, out_features: int) -> nn.Module:
        if head is None:
            raise TypeError("a vector core's frame decoder needs a head config")
        return build_from_config(
            head, "task.head", in_features=in_features, out_features=out_features
        )

    adapters = FrameAdapters(**adapter_config)
    return assemble(core_class, build_core, frame_shape, output, adapters, build_head)
