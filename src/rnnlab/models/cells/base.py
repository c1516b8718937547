"""The interface every recurrent core implements, built-in or the user's own.

A core is an ``nn.Module`` with ``output_size`` and ``forward(x, state=None) -> (outputs, state)``:

- ``frame_input = "vector"`` cores (dense) take ``x (B, T, F)`` and return ``outputs (B, T, H)``;
  they are built with ``input_size=F`` (the flattened frame size).

``state`` is whatever the core needs to continue a sequence (``None`` starts from zeros), so the
same module serves sequence mode (teacher forcing) and step mode (``T = 1``, autoregressive
rollout). A user's own core only needs the same constructor keyword and forward signature.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import torch


@runtime_checkable
class RecurrentCore(Protocol):
    frame_input: ClassVar[Literal["vector"]]
    output_size: int

    def __call__(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]: ...
