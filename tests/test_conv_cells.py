"""Convolutional cores: the same gates as the dense cells, all built parameters used, gradients
through time, state on the input's device and dtype."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.models.cells import ConvCell, ConvCore, DenseCore, RecurrentCore

CELLS = ["rnn", "gru", "lstm"]
TORCH_CELLS = {"rnn": torch.nn.RNNCell, "gru": torch.nn.GRUCell, "lstm": torch.nn.LSTMCell}


def copy_dense_weights(conv: ConvCore, dense: DenseCore) -> None:
    """Give the 1x1 conv cells the weights of torch's fused module, layer by layer."""
    rnn = dense.rnn
    for index, cell in enumerate(conv.layers):
        w_ih, w_hh = getattr(rnn, f"weight_ih_l{index}"), getattr(rnn, f"weight_hh_l{index}")
        b_ih, b_hh = getattr(rnn, f"bias_ih_l{index}"), getattr(rnn, f"bias_hh_l{index}")
        size = rnn.hidden_size
        with torch.no_grad():
            if conv.cell == "gru":  # rows: r, z, n
                rz = torch.cat([w_ih[: 2 * size], w_hh[: 2 * size]], dim=1)
                cell.weight_rz.copy_(rz[..., None, None])
                cell.weight_nx.copy_(w_ih[2 * size :, :, None, None])
                cell.weight_nh.copy_(w_hh[2 * size :, :, None, None])
                b_rz = b_ih[: 2 * size] + b_hh[: 2 * size]
                cell.bias.copy_(torch.cat([b_rz, b_ih[2 * size :], b_hh[2 * size :]]))
            else:  # rows: i, f, g, o (lstm) or the one gate (rnn)
                cell.weight.copy_(torch.cat([w_ih, w_hh], dim=1)[..., None, None])
                cell.bias.copy_(b_ih + b_hh)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_conv_cell_with_1x1_kernels_on_1x1_maps_is_the_dense_cell(cell, num_layers):
    torch.manual_seed(0)
    dense = DenseCore(cell, input_size=3, hidden_size=4, num_layers=num_layers)
    conv = ConvCore(cell, input_channels=3, hidden_channels=[4] * num_layers, kernel_size=1)
    copy_dense_weights(conv, dense)
    x = torch.randn(2, 5, 3)  # (B, T, F)
    expected, _ = dense(x)  # (B, T, H)
    outputs, _ = conv(x[..., None, None])  # (B, T, H, 1, 1)
    torch.testing.assert_close(outputs[..., 0, 0], expected)


@pytest.mark.parametrize("cell", CELLS)
def test_torchs_unfused_cell_step_by_step_is_the_fused_dense_core(cell):
    """Pins the gate order and bias convention the weight copy above relies on."""
    torch.manual_seed(0)
    dense = DenseCore(cell, input_size=3, hidden_size=4)
    unfused = TORCH_CELLS[cell](3, 4)
    unfused.load_state_dict({name[:-3]: value for name, value in dense.rnn.state_dict().items()})
    x = torch.randn(2, 5, 3)
    state, outputs = None, []
    for t in range(5):
        state = unfused(x[:, t], state)
        outputs.append(state[0] if cell == "lstm" else state)
    torch.testing.assert_close(torch.stack(outputs, dim=1), dense(x)[0])


@pytest.mark.parametrize("norm", ["none", "layer", "group"])
@pytest.mark.parametrize("cell", CELLS)
def test_gradients_through_time_match_finite_differences(cell, norm):
    torch.manual_seed(0)
    core = ConvCore(cell, input_channels=1, hidden_channels=[2, 2], kernel_size=3, norm=norm)
    core = core.double()
    x = torch.randn(1, 3, 1, 3, 3, dtype=torch.float64, requires_grad=True)  # (B, T, C, H, W)
    # the last output depends on the first frame only through the recurrence
    assert torch.autograd.gradcheck(lambda frames: core(frames)[0][:, -1], (x,))


@pytest.mark.parametrize("cell", CELLS)
def test_step_mode_continues_sequence_mode_exactly(cell):
    torch.manual_seed(0)
    core = ConvCore(cell, input_channels=2, hidden_channels=[3, 4])
    x = torch.randn(2, 5, 2, 6, 6)
    full, _ = core(x)
    _, state = core(x[:, :3])
    steps = []
    for t in range(3, 5):
        out, state = core(x[:, t : t + 1], state)
        steps.append(out)
    torch.testing.assert_close(torch.cat(steps, dim=1), full[:, 3:])


@pytest.mark.parametrize("norm", ["none", "layer", "group"])
@pytest.mark.parametrize("cell", CELLS)
def test_every_parameter_built_is_used(cell, norm):
    core = ConvCore(cell, input_channels=2, hidden_channels=[3, 4], norm=norm)
    outputs, _ = core(torch.randn(2, 3, 2, 5, 5))
    outputs.square().sum().backward()
    unused = [name for name, p in core.named_parameters() if p.grad is None or not p.grad.any()]
    assert unused == []


@pytest.mark.parametrize(("cell", "gates"), [("rnn", 1), ("gru", 3), ("lstm", 4)])
def test_one_convolution_computes_all_gates_of_a_layer(cell, gates):
    layer = ConvCell(cell, input_channels=2, hidden_channels=3, kernel_size=5)
    weight = layer.gate_weight()
    blocks = 4 if cell == "gru" else gates  # gru: r, z, and the input / hidden parts of n
    assert weight.shape == (blocks * 3, 2 + 3, 5, 5)
    n_weights = sum(p.numel() for name, p in layer.named_parameters() if name != "bias")
    assert n_weights == gates * 3 * (2 + 3) * 25  # the gru's zero blocks are not parameters


def test_outputs_are_the_last_layers_maps_at_the_input_size():
    core = ConvCore("lstm", input_channels=16, hidden_channels=[8, 5], kernel_size=5)
    outputs, state = core(torch.randn(2, 3, 16, 16, 16))
    assert outputs.shape == (2, 3, 5, 16, 16) and core.output_channels == 5
    assert [h.shape[1] for h, _ in state] == [8, 5]
    assert isinstance(core, RecurrentCore) and core.frame_input == "spatial"


def test_one_width_repeats_over_num_layers():
    assert ConvCore("gru", 1, hidden_channels=6, num_layers=3).hidden_channels == [6, 6, 6]


def test_widths_and_num_layers_that_disagree_are_refused():
    with pytest.raises(ConfigError, match="num_layers=null"):
        ConvCore("gru", 1, hidden_channels=[6, 6], num_layers=3)


def test_unknown_cell_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="rnn, gru, lstm"):
        ConvCore("convlstm", 1, hidden_channels=[4])


def test_state_is_made_on_the_inputs_dtype_and_device():
    core = ConvCore("lstm", 1, hidden_channels=[2]).double()
    assert core(torch.randn(1, 2, 1, 4, 4, dtype=torch.float64))[0].dtype == torch.float64
    meta = ConvCore("gru", 1, hidden_channels=[2]).to("meta")  # a device that is not the CPU
    outputs, _ = meta(torch.empty(1, 2, 1, 4, 4, device="meta"))
    assert outputs.device.type == "meta"
