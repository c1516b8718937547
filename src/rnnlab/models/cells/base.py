"""The interface every recurrent core implements, built-in or the user's own.

A core is an ``nn.Module`` with ``forward(x, state=None) -> (outputs, state)`` and a class attribute
``frame_input`` saying what it reads; it outputs the same kind of tensor:

- ``frame_input = "vector"`` cores (dense) take ``x (B, T, F)`` and return ``outputs (B, T, H)``;
  they are built with ``input_size=F`` and have an ``output_size`` (``H``) attribute.
- ``frame_input = "spatial"`` cores (convolutional) take maps ``x (B, T, C, H, W)`` and return
  ``outputs (B, T, C_out, H, W)`` at the same height and width; they are built with
  ``input_channels=C`` and have an ``output_channels`` (``C_out``) attribute.

rnnlab chooses the frame adapters around a core from its kind (:mod:`rnnlab.models.encoders`,
:mod:`rnnlab.models.decoders`), so tasks treat every core alike.

``state`` is whatever the core needs to continue a sequence (``None`` starts from zeros), so the
same module serves sequence mode (teacher forcing) and step mode (``T = 1``, autoregressive
rollout). A user's own core only needs the same constructor keyword and forward signature.

A core that names the constructor argument setting its width in a ``width_key`` class attribute
(``"hidden_size"``; a list of per-layer widths is scaled together) can be sized by
``model.param_budget`` (:mod:`rnnlab.models.budget`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import torch

FrameInput = Literal["vector", "spatial"]
FRAME_INPUTS: tuple[str, ...] = ("vector", "spatial")


@runtime_checkable
class RecurrentCore(Protocol):
    frame_input: ClassVar[FrameInput]

    def __call__(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]: ...


def core_kind(core_class: type) -> str:
    """What a core class reads: ``"vector"`` (the default) or ``"spatial"``."""
    return getattr(core_class, "frame_input", "vector")
