"""Dense recurrent cores over flattened frames, wrapping torch's fused ``nn.RNN/GRU/LSTM``."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
from torch import nn

from rnnlab.errors import ConfigError
from rnnlab.values import FRACTION_BELOW_ONE, POSITIVE_INT, Rule, one_of

DENSE_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class DenseCore(nn.Module):
    """A stack of ``num_layers`` recurrent layers of one cell type (batch first).

    ``forward(x (B, T, F), state=None) -> (outputs (B, T, H), state)``; ``state`` is ``h`` of
    shape ``(L, B, H)`` for rnn/gru and ``(h, c)`` for lstm, ``None`` to start from zeros. Uses
    torch's fused kernels (cuDNN on GPU, oneDNN for LSTM on CPU).
    """

    frame_input: ClassVar[Literal["vector"]] = "vector"
    width_key: ClassVar[str] = "hidden_size"  # what model.param_budget sizes
    value_rules: ClassVar[dict[str, Rule]] = {
        "hidden_size": POSITIVE_INT,
        "num_layers": POSITIVE_INT,
        "dropout": FRACTION_BELOW_ONE,
        "cell": one_of(*DENSE_CELLS),
        "nonlinearity": one_of("tanh", "relu"),
    }

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        nonlinearity: str = "tanh",
    ) -> None:
        super().__init__()
        if cell not in DENSE_CELLS:
            raise ConfigError(
                f"model.cell={cell!r} is not a dense cell. Use one of: {', '.join(DENSE_CELLS)}."
            )
        kwargs: dict[str, Any] = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
        # torch applies dropout between stacked layers only (one layer: it warns, ignores).
        self.rnn = DENSE_CELLS[cell](
            input_size,
            hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
            **kwargs,
        )
        self.cell = cell
        self.output_size = hidden_size

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        if self.cell == "lstm" and x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            return self._lstm_in_float32(x, state)
        outputs, state = self.rnn(x, state)  # (B, T, H)
        return outputs, state

    def _lstm_in_float32(self, x: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        """The fused LSTM in float32 with CPU autocast off (``precision=bf16-mixed`` on a CPU).

        oneDNN's fused CPU LSTM has no bfloat16 kernel on CPUs without native bf16 instructions
        ("could not create a primitive descriptor for the LSTM forward propagation primitive");
        float32 runs everywhere and gives the same result on every CPU. The layers around the
        core still run under autocast. Outputs and state are float32.
        """
        if state is not None:
            state = tuple(s.float() for s in state)
        with torch.autocast("cpu", enabled=False):
            outputs, state = self.rnn(x.float(), state)  # (B, T, H) float32
        return outputs, state
