"""The table of bad input a new user has tried, each run through the real entrypoint: exit code 2,
one paragraph that names the problem and the fix, no traceback, and nothing recorded as done.

Add a row for every new case; tests elsewhere cover the finer points of each message.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY, read_json, run_cli

# (id, overrides for rnnlab-train, fragments the message must hold)
TRAIN_CASES = [
    ("monitor_mode", ["monitor.mode=maximum"], ["monitor.mode='maximum'", "one of min, max"]),
    ("speed_scalar", ["data.speed=3"], ["data.speed=3", "[min, max]"]),
    ("speed_reversed", ["data.speed=[4,2]"], ["data.speed=[4, 2]", "min <= max"]),
    ("nothing_to_run", ["train=false", "test=false"], ["train=false test=false runs nothing"]),
    (
        "no_training_batch",
        ["++trainer.limit_train_batches=0"],
        ["trainer.limit_train_batches=0 trains on no batch", "train=false"],
    ),
    (
        "no_training_batch_float",
        ["++trainer.limit_train_batches=0.0", "test=false"],
        ["trainer.limit_train_batches=0 trains on no batch"],
    ),
    (
        "only_test_with_no_test_batch",
        ["train=false", "ckpt_path=last", "++trainer.limit_test_batches=0"],
        ["trainer.limit_test_batches=0 runs nothing", "testing is the only stage"],
    ),
    ("tags_not_a_list", ["tags=foo"], ["tags='foo'", "tags=[foo]"]),
    ("bad_label", ["data.label=colour"], ["data.label='colour'", "digit, direction"]),
    ("bad_loss", ["task.loss=huber"], ["task.loss='huber'", "mse, bce"]),
    ("negative_workers", ["data.num_workers=-1"], ["data.num_workers=-1", ">= 0"]),
    ("no_batches", ["data.batch_size=0"], ["data.batch_size=0", ">= 1"]),
    ("train_forever", ["trainer.max_epochs=-1"], ["would train forever"]),
    ("bad_clip", ["trainer.gradient_clip_val=-1"], ["trainer.gradient_clip_val=-1", ">= 0"]),
    ("bad_seed", ["seed=-3"], ["seed=-3", ">= 0"]),
    ("param_budget_zero", ["model.param_budget=0"], ["model.param_budget=0", ">= 1, or null"]),
    ("param_budget_float", ["model.param_budget=2.5e4"], ["model.param_budget=25000.0", ">= 1"]),
    (
        "param_budget_too_small",
        ["model.param_budget=1000"],  # lstm, width 1, 32x32 frames: 6,156 parameters
        ["model.param_budget=1000 is below the smallest model", "at least 6,156"],
    ),
]


def assert_clean_failure(result, fragments: list[str]) -> None:
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    message = result.stderr
    for fragment in fragments:
        assert fragment in message, message


@pytest.mark.parametrize(
    ("overrides", "fragments"), [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES]
)
def test_bad_training_input_fails_in_one_paragraph(tmp_path, overrides, fragments):
    run_dir = tmp_path / "run"
    result = run_cli("rnnlab.train", [*TINY, *overrides, f"hydra.run.dir={run_dir}"], tmp_path)
    assert_clean_failure(result, fragments)
    assert read_json(run_dir / "run.json")["status"] == "failed"


@pytest.fixture
def checkpoint(classify_run) -> Path:
    """The best checkpoint of the session's tiny task=classify run."""
    return classify_run / "checkpoints" / "best.ckpt"


EVAL_CASES = [
    ("eval_batch_size", ["data.batch_size=0"], ["data.batch_size=0", ">= 1"]),
    ("eval_speed", ["data.speed=3"], ["data.speed=3", "[min, max]"]),
    ("eval_test_batches", ["++trainer.limit_test_batches=0"], ["batches=0 runs nothing"]),
]


@pytest.mark.xdist_group("classify_run")
@pytest.mark.parametrize(
    ("overrides", "fragments"), [c[1:] for c in EVAL_CASES], ids=[c[0] for c in EVAL_CASES]
)
def test_bad_eval_input_fails_in_one_paragraph(checkpoint, tmp_path, overrides, fragments):
    args = [f"ckpt_path={checkpoint}", *overrides, f"hydra.run.dir={tmp_path / 'eval'}"]
    result = run_cli("rnnlab.cli.evaluate", args, tmp_path)
    assert_clean_failure(result, fragments)
    assert not (tmp_path / "eval" / "test_metrics.json").exists()


def test_a_sweep_with_one_bad_value_says_why_once(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train", ["-m", *TINY, "model.hidden_size=0,8", f"hydra.sweep.dir={sweep}"], tmp_path
    )
    assert_clean_failure(result, ["at least one run of the sweep failed"])
    output = result.stdout + result.stderr  # what the terminal shows
    assert output.count("model.hidden_size=0 is not valid") == 1
    assert output.count("at least one run of the sweep failed") == 1
    statuses = sorted(read_json(run / "run.json")["status"] for run in sweep.glob("[0-9]*"))
    assert statuses == ["completed", "failed"]
