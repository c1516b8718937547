"""``model.param_budget=N``: the chosen core's width is sized so that the whole model has as close
to N trainable parameters as an integer width allows, through the real entrypoint on tiny data.

Parameter counts are worked out by hand here from the layers' shapes (torch's fused RNN layers
have two bias vectors per gate block), not read from the code under test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from rnnlab.models.budget import fit_width, scale_width
from tests.conftest import TINY, read_json, run_cli
from tests.test_user_extension import EXAMPLE, RUN

FRAME = 32 * 32  # TINY's canvas: flattened frames of 1x32x32
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def next_frame_parameters(cell: str, hidden: int) -> int:
    """One dense layer of ``cell`` over flattened frames, then a Linear head back to a frame."""
    core = GATES[cell] * (FRAME * hidden + hidden * hidden + 2 * hidden)
    head = hidden * FRAME + FRAME
    return core + head


def closest(count, budget: int, width: int) -> bool:
    """No neighbouring width gets nearer the budget."""
    return all(
        abs(count(width) - budget) <= abs(count(other) - budget)
        for other in (width - 1, width + 1)
        if other >= 1
    )


def test_budget_sizes_rnn_gru_and_lstm_to_the_closest_width(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        [
            "-m",
            "model=rnn,gru,lstm",
            "model.param_budget=100000",
            *TINY,
            "compare=false",
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = [read_json(sweep / str(n) / "run.json") for n in range(3)]
    assert [r["choices"]["model"] for r in records] == ["rnn", "gru", "lstm"]
    for record in records:
        cell = record["choices"]["model"]
        sizing = record["param_budget"]
        width = sizing["width"]

        def count(hidden: int, cell: str = cell) -> int:
            return next_frame_parameters(cell, hidden)

        assert sizing["budget"] == 100000 and sizing["width_key"] == "hidden_size"
        assert record["parameters"] == sizing["parameters"] == count(width)
        assert closest(count, 100000, width)
        assert abs(record["parameters"] / 100000 - 1) < 0.02
        line = f"param_budget 100,000: model.hidden_size={width} -> {count(width):,} trainable"
        assert line in result.stdout
    # rnn 47 -> 99,583; gru 24 -> 101,200; lstm 19 -> 99,900
    assert [r["param_budget"]["width"] for r in records] == [47, 24, 19]


def test_a_run_without_a_budget_keeps_its_configured_width(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli("rnnlab.train", [*TINY, "model=gru", f"hydra.run.dir={run_dir}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_json(run_dir / "run.json")
    assert "param_budget" not in record and "trainable parameters (" not in result.stdout
    assert record["parameters"] == next_frame_parameters("gru", 16)  # TINY: hidden_size=16


def test_a_users_core_that_declares_its_width_key_is_sized(tmp_path):
    # LeakyIntegrator: Linear(64, H) on 8x8 frames; the ScaledLinearHead: Linear(H, 2)
    run_dir = tmp_path / "run"
    result = run_cli(
        "rnnlab.train",
        [
            "model=leaky",
            "data=blinking",
            "task=classify_scaled",
            "model.param_budget=1000",
            f"hydra.searchpath=[file://{EXAMPLE / 'conf'}]",
            *RUN,
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
        env={"PYTHONPATH": str(EXAMPLE)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sizing = read_json(run_dir / "run.json")["param_budget"]
    assert sizing == {"budget": 1000, "width_key": "hidden_size", "width": 15, "parameters": 1007}
    assert 67 * 15 + 2 == 1007 and 67 * 14 + 2 == 940  # 64H + H + 2H + 2


def test_a_core_without_a_width_key_cannot_take_a_budget(tmp_path):
    module = tmp_path / "plain_core.py"
    module.write_text(
        textwrap.dedent(
            """
            from torch import nn

            class PlainCore(nn.Module):
                frame_input = "vector"

                def __init__(self, input_size: int, units: int = 8) -> None:
                    super().__init__()
                    self.rnn = nn.GRU(input_size, units, batch_first=True)
                    self.output_size = units

                def forward(self, x, state=None):
                    return self.rnn(x, state)
            """
        )
    )
    run_dir = tmp_path / "run"
    result = run_cli(
        "rnnlab.train",
        [
            *TINY,
            "model._target_=plain_core.PlainCore",
            *("~model.hidden_size", "~model.cell", "~model.num_layers", "~model.dropout"),
            "+model.units=4",
            "model.param_budget=5000",
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "plain_core.PlainCore has no `width_key` class attribute" in result.stderr
    assert 'width_key = "hidden_size"' in result.stderr


def test_list_widths_are_scaled_by_one_factor():
    assert scale_width([64, 64], 10) == [10, 10]
    assert scale_width([32, 64], 10) == [5, 10]  # the largest entry is the searched size
    assert scale_width([16, 48, 32], 3) == [1, 3, 2]
    assert scale_width([16, 48], 1) == [1, 1]  # never below one unit
    assert scale_width(256, 7) == 7


@pytest.mark.parametrize(("budget", "expected"), [(100, 10), (110, 10), (111, 11), (1, 1)])
def test_bisection_finds_the_size_whose_count_is_closest(budget, expected):
    calls: list[int] = []

    def count(size: int) -> int:
        calls.append(size)
        return size * size  # 100 at 10, 121 at 11

    assert fit_width(count, budget) == expected
    assert len(set(calls)) <= 10  # doubling then bisection, not a scan


def test_a_width_that_never_reaches_the_budget_is_reported():
    with pytest.raises(ValueError, match="size 64 gives only 5 parameters"):
        fit_width(lambda size: 5, 1000, max_size=64)


EXAMPLE_CONF = Path(EXAMPLE / "conf" / "model" / "leaky.yaml")


def test_every_model_config_accepts_param_budget():
    from rnnlab.config import CONFIG_DIR

    configs = sorted((CONFIG_DIR / "model").glob("*.yaml"))
    assert configs
    for path in [*configs, EXAMPLE_CONF]:
        assert "\nparam_budget: null" in path.read_text(), path


def conv_lstm_next_frame_parameters(channels: list[int], kernel: int = 3, patch: int = 4) -> int:
    """ConvLSTM layers on 1x32x32 frames cut into patch x patch (16 input maps), then a 1x1
    convolution back to the patch's pixels."""
    total, inputs = 0, patch * patch
    for hidden in channels:
        total += 4 * hidden * (inputs + hidden) * kernel * kernel + 4 * hidden
        inputs = hidden
    return total + channels[-1] * patch * patch + patch * patch


def test_conv_hidden_channels_are_scaled_together(tmp_path):
    run_dir = tmp_path / "run"
    tiny_conv = [o for o in TINY if not o.startswith("model.hidden_size")]
    result = run_cli(
        "rnnlab.train",
        [
            *tiny_conv,
            "model=conv_lstm",
            "model.hidden_channels=[4,8]",  # proportions 1:2 kept
            "model.kernel_size=3",
            "model.patch_size=4",
            "model.param_budget=30000",
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_json(run_dir / "run.json")
    sizing = record["param_budget"]
    assert sizing["width_key"] == "hidden_channels"
    # the largest entry is the searched size: [9, 18] 26,008; [10, 19] 29,632; [10, 20] 31,416
    assert sizing["width"] == [10, 19]
    assert record["parameters"] == sizing["parameters"] == conv_lstm_next_frame_parameters([10, 19])
    assert "model.hidden_channels=[10, 19] -> 29,632 trainable parameters" in result.stdout
