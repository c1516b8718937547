"""Convolutional recurrent cores: the twins of the dense cells over spatial maps.

Each cell computes all its gates with ONE convolution over the concatenation ``[x_t, h_{t-1}]`` per
step (ConvLSTM as Shi et al. 2015, without peepholes), and follows torch's gate equations, so that
with 1x1 kernels on 1x1 maps it is exactly ``nn.RNN``/``nn.GRU``/``nn.LSTM`` with the same weights:

- rnn:  ``h = tanh(W * [x, h] + b)`` (or relu)
- lstm: ``i, f, g, o = split(W * [x, h] + b)``; ``c = sig(f) c + sig(i) tanh(g)``;
  ``h = sig(o) tanh(c)``
- gru:  ``r, z, n_x, n_h = split(W * [x, h] + b)``; ``n = tanh(n_x + sig(r) n_h)``;
  ``h = (1 - sig(z)) n + sig(z) h``. torch's candidate keeps its input and hidden parts apart, so
  the GRU's single convolution has a block weight: ``r`` and ``z`` read ``[x, h]``, ``n_x`` reads
  only ``x`` and ``n_h`` only ``h`` (the zero blocks are constants, not parameters).

``norm=layer`` normalises a layer's gate pre-activations over channels and positions together
(``GroupNorm`` with one group), ``norm=group`` each gate's block on its own (one group per gate);
the normalisation's shift replaces the convolution's bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.values import POSITIVE_INT, Rule, is_int, one_of

GATES: dict[str, int] = {"rnn": 1, "gru": 3, "lstm": 4}
NORMS: tuple[str, ...] = ("none", "layer", "group")
ODD_INT = Rule(lambda v: is_int(v) and v > 0 and v % 2 == 1, "an odd whole number >= 1")
WIDTHS = Rule(
    lambda v: (
        POSITIVE_INT.valid(v)
        or (isinstance(v, list | tuple) and len(v) > 0 and all(POSITIVE_INT.valid(x) for x in v))
    ),
    "a whole number >= 1 or a non-empty list of them (one per layer), e.g. [64, 64]",
)

State = Any  # per layer: h (B, C_h, H, W), or (h, c) for lstm


class ConvCell(nn.Module):
    """One convolutional recurrent cell of kind ``cell`` (rnn | gru | lstm).

    ``forward(x (B, C_in, H, W), state) -> (h (B, C_h, H, W), state)``; ``state`` is ``h`` or
    ``(h, c)`` (lstm), ``None`` for zeros made on ``x``'s device and dtype.
    """

    def __init__(
        self,
        cell: str,
        input_channels: int,
        hidden_channels: int,
        kernel_size: int = 3,
        norm: str = "none",
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        self.cell, self.hidden_channels, self.padding = cell, hidden_channels, kernel_size // 2
        self.activation = torch.tanh if nonlinearity == "tanh" else torch.relu
        gates, both = GATES[cell], input_channels + hidden_channels
        blocks = 4 if cell == "gru" else gates  # gru: r, z, n_x, n_h
        k, bound = kernel_size, 1.0 / (both * kernel_size**2) ** 0.5  # nn.Conv2d's default bound
        if cell == "gru":
            self.weight_rz = nn.Parameter(torch.empty(2 * hidden_channels, both, k, k))
            self.weight_nx = nn.Parameter(torch.empty(hidden_channels, input_channels, k, k))
            self.weight_nh = nn.Parameter(torch.empty(hidden_channels, hidden_channels, k, k))
        else:
            self.weight = nn.Parameter(torch.empty(gates * hidden_channels, both, k, k))
        self.bias = nn.Parameter(torch.empty(blocks * hidden_channels)) if norm == "none" else None
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)
        groups = {"layer": 1, "group": blocks}.get(norm)
        self.norm = nn.GroupNorm(groups, blocks * hidden_channels) if groups else nn.Identity()

    def gate_weight(self) -> torch.Tensor:
        """The one convolution's weight ``(blocks * C_h, C_in + C_h, k, k)``."""
        if self.cell != "gru":
            return self.weight
        c_h, c_in, k, _ = self.weight_nx.shape
        zeros = self.weight_nx.new_zeros
        n_x = torch.cat([self.weight_nx, zeros(c_h, c_h, k, k)], dim=1)  # reads x only
        n_h = torch.cat([zeros(c_h, c_in, k, k), self.weight_nh], dim=1)  # reads h only
        return torch.cat([self.weight_rz, n_x, n_h], dim=0)

    def zero_state(self, x: torch.Tensor) -> State:
        h = x.new_zeros(x.shape[0], self.hidden_channels, *x.shape[2:])  # (B, C_h, H, W)
        return (h, h) if self.cell == "lstm" else h

    def forward(
        self, x: torch.Tensor, state: State = None, weight: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, State]:
        """One step; ``weight`` is :meth:`gate_weight`, passed in to build it once a sequence."""
        state = self.zero_state(x) if state is None else state
        h = state[0] if self.cell == "lstm" else state
        weight = self.gate_weight() if weight is None else weight
        xh = torch.cat([x, h], dim=1)  # (B, C_in + C_h, H, W)
        gates = self.norm(F.conv2d(xh, weight, self.bias, padding=self.padding))  # (B, G*C_h, H, W)
        if self.cell == "rnn":
            h = self.activation(gates)
            return h, h
        if self.cell == "lstm":
            i, f, g, o = gates.chunk(4, dim=1)  # each (B, C_h, H, W)
            c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            return h, (h, c)
        r, z, n_x, n_h = gates.chunk(4, dim=1)  # each (B, C_h, H, W)
        n = torch.tanh(n_x + torch.sigmoid(r) * n_h)
        z = torch.sigmoid(z)
        h = (1 - z) * n + z * h
        return h, h


class ConvCore(nn.Module):
    """A stack of convolutional recurrent cells of one kind, with per-layer widths.

    ``forward(x (B, T, C_in, H, W), state=None) -> (outputs (B, T, C_out, H, W), state)``:
    ``outputs`` are the last layer's hidden maps (``C_out = hidden_channels[-1]``), ``state`` a list
    with one entry per layer (``h`` or ``(h, c)``), ``None`` to start from zeros. Height and width
    are kept ("same" padding, odd ``kernel_size``). ``hidden_channels`` is one width per layer
    (``[64, 64]``) or one width for ``num_layers`` layers.
    """

    frame_input: ClassVar[Literal["spatial"]] = "spatial"
    # what model.param_budget sizes (a list of per-layer widths: scaled together)
    width_key: ClassVar[str] = "hidden_channels"
    value_rules: ClassVar[dict[str, Rule]] = {
        "cell": one_of(*GATES),
        "hidden_channels": WIDTHS,
        "num_layers": POSITIVE_INT.or_null(),
        "kernel_size": ODD_INT,
        "norm": one_of(*NORMS),
        "nonlinearity": one_of("tanh", "relu"),
    }

    def __init__(
        self,
        cell: str,
        input_channels: int,
        hidden_channels: int | Sequence[int],
        num_layers: int | None = None,
        kernel_size: int = 3,
        norm: str = "none",
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        if cell not in GATES:
            raise ConfigError(
                f"model.cell={cell!r} is not a conv cell. Use one of: {', '.join(GATES)}."
            )
        widths = self.layer_widths(hidden_channels, num_layers)
        inputs = [input_channels, *widths[:-1]]
        self.layers = nn.ModuleList(
            ConvCell(cell, c_in, c_h, kernel_size, norm, nonlinearity)
            for c_in, c_h in zip(inputs, widths, strict=True)
        )
        self.cell = cell
        self.hidden_channels = widths
        self.output_channels = widths[-1]

    @staticmethod
    def layer_widths(hidden_channels: int | Sequence[int], num_layers: int | None) -> list[int]:
        """One width per layer from ``hidden_channels`` and ``num_layers``."""
        if isinstance(hidden_channels, int):
            return [hidden_channels] * (num_layers or 1)
        widths = list(hidden_channels)
        if num_layers is not None and num_layers != len(widths):
            raise ConfigError(
                f"model.hidden_channels={widths} gives {len(widths)} layers but "
                f"model.num_layers={num_layers}. Give one width per layer and "
                "model.num_layers=null, or one width (model.hidden_channels=64) and num_layers."
            )
        return widths

    def forward(
        self, x: torch.Tensor, state: list[State] | None = None
    ) -> tuple[torch.Tensor, list[State]]:
        states: list[State] = list(state) if state is not None else [None] * len(self.layers)
        weights = [layer.gate_weight() for layer in self.layers]  # built once per sequence
        outputs = []
        for t in range(x.shape[1]):
            h = x[:, t]  # (B, C_in, H, W)
            for index, layer in enumerate(self.layers):
                h, states[index] = layer(h, states[index], weights[index])  # (B, C_l, H, W)
            outputs.append(h)
        return torch.stack(outputs, dim=1), states  # (B, T, C_out, H, W)
