"""Task heads: map a core's outputs ``(..., H)`` to task outputs ``(..., out_features)``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLPHead(nn.Module):
    """``Linear`` layers with ReLU between them; a single ``Linear`` when ``hidden_sizes`` is empty.

    ``forward(x (..., in_features)) -> (..., out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_sizes: Sequence[int] = (),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
