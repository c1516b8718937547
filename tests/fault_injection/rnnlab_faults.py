"""Cores that fail on purpose, to test how runs fail (used via model._target_ and PYTHONPATH)."""

from __future__ import annotations

from typing import Any

import torch

from rnnlab.models.cells import DenseCore


class NanAfterCore(DenseCore):
    """An LSTM core whose outputs turn NaN from its ``nan_after``-th training forward call on."""

    def __init__(self, input_size: int, hidden_size: int, nan_after: int) -> None:
        super().__init__("lstm", input_size, hidden_size)
        self.nan_after = nan_after
        self.training_calls = 0

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        outputs, state = super().forward(x, state)
        if self.training:
            self.training_calls += 1
            if self.training_calls > self.nan_after:
                outputs = outputs * float("nan")
        return outputs, state
