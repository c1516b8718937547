"""A non-recurrent baseline core: each frame on its own, through the same kind of hidden layers.

Comparing a recurrent core with it shows what the recurrence adds: on labels that one frame cannot
tell (e.g. moving digits' ``label=direction``), a recurrent core must beat it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import nn

from rnnlab.values import FRACTION_BELOW_ONE, POSITIVE_INT, Rule


class FramewiseCore(nn.Module):
    """``num_layers`` of ``Linear -> tanh`` applied to every frame independently (no state).

    ``forward(x (B, T, F), state=None) -> (outputs (B, T, H), None)``.
    """

    frame_input: ClassVar[Literal["vector"]] = "vector"
    width_key: ClassVar[str] = "hidden_size"  # what model.param_budget sizes
    value_rules: ClassVar[dict[str, Rule]] = {
        "hidden_size": POSITIVE_INT,
        "num_layers": POSITIVE_INT,
        "dropout": FRACTION_BELOW_ONE,
    }

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = input_size
        for index in range(num_layers):
            if index > 0 and dropout > 0:
                layers.append(nn.Dropout(dropout))
            layers += [nn.Linear(width, hidden_size), nn.Tanh()]
            width = hidden_size
        self.net = nn.Sequential(*layers)
        self.output_size = hidden_size

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, None]:
        return self.net(x), None  # (B, T, H): frame t sees only frame t
