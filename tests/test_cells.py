"""Dense recurrent cores: one interface for rnn, gru and lstm."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models.cells import DenseCore, FramewiseCore, RecurrentCore


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_core_maps_sequences_to_hidden_outputs(cell):
    core = DenseCore(cell, input_size=12, hidden_size=7, num_layers=2)
    outputs, _ = core(torch.randn(3, 5, 12))
    assert outputs.shape == (3, 5, 7)
    assert core.output_size == 7
    assert isinstance(core, RecurrentCore)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_step_mode_continues_sequence_mode_exactly(cell):
    torch.manual_seed(0)
    core = DenseCore(cell, input_size=4, hidden_size=6, num_layers=2)
    x = torch.randn(2, 5, 4)
    full, _ = core(x)
    _, state = core(x[:, :3])
    steps = []
    for t in range(3, 5):
        out, state = core(x[:, t : t + 1], state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps, dim=1), full[:, 3:])


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_core_wraps_torchs_fused_module(cell):
    expected = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    assert type(DenseCore(cell, 4, 4).rnn) is expected


def test_unknown_cell_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="rnn, gru, lstm"):
        DenseCore("lstmm", 4, 4)


def test_dropout_applies_between_stacked_layers():
    assert DenseCore("gru", 4, 4, num_layers=2, dropout=0.3).rnn.dropout == 0.3


def test_framewise_core_sees_each_frame_alone():
    core = FramewiseCore(input_size=4, hidden_size=6, num_layers=2)
    x = torch.randn(2, 5, 4)
    outputs, state = core(x)
    assert outputs.shape == (2, 5, 6) and state is None
    changed = x.clone()
    changed[:, 0] += 1.0  # a different first frame changes no later output
    torch.testing.assert_close(core(changed)[0][:, 1:], outputs[:, 1:])
