"""Bad configs end the run before anything is built, with one paragraph that names the key, the
bad value and what is allowed: exit code 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.conftest import TINY, read_json, run_cli


def train_error(
    tmp_path, args: list[str], env: dict[str, str] | None = None, base: list[str] = TINY
) -> str:
    """Run rnnlab-train with ``base`` + ``args``; assert it failed cleanly; return its stderr."""
    result = run_cli(
        "rnnlab.train", [*base, *args, f"hydra.run.dir={tmp_path / 'run'}"], tmp_path, env
    )
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "rnnlab:" in result.stderr
    return result.stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("model=lstmm", ["model=lstmm", "Valid choices: conv_gru, conv_lstm, conv_rnn, framewise"]),
        ("task=clasify", ["task=clasify", "classify, next_frame"]),
        ("optimizer=adamm", ["optimizer=adamm", "adam, adamw, sgd"]),
        ("trainer=tpu", ["trainer=tpu", "cpu, ddp, gpu"]),
        ("logger=wandb", ["logger=wandb", "csv, many, tensorboard"]),
        ("data=moving_mnist", ["data=moving_mnist", "moving_digits"]),
    ],
)
def test_unknown_choice_lists_the_valid_ones(tmp_path, override, expected):
    stderr = train_error(tmp_path, [override])
    for text in expected:
        assert text in stderr


def test_unknown_key_on_the_command_line_is_named_with_the_closest_key(tmp_path):
    stderr = train_error(tmp_path, ["model.hiden_size=3"])
    assert "model.hiden_size is not a key" in stderr and "+model.hiden_size" in stderr
    assert "Did you mean model.hidden_size?" in stderr


def test_key_given_without_its_group_is_pointed_to_it(tmp_path):
    stderr = train_error(tmp_path, ["task=classify", "pool=mean"])
    assert "pool is not a key" in stderr and "Did you mean task.pool?" in stderr


def test_bad_value_is_reported_before_the_config_is_printed_and_recorded(tmp_path):
    result = run_cli(
        "rnnlab.train", [*TINY, "model.hidden_size=0", f"hydra.run.dir={tmp_path / 'r'}"], tmp_path
    )
    assert result.returncode == 2
    assert "├── data" not in result.stdout  # no config tree before a one-line mistake
    record = read_json(tmp_path / "r" / "run.json")
    assert record["status"] == "failed" and "model.hidden_size=0" in record["failure"]


def test_unknown_added_key_lists_the_allowed_keys(tmp_path):
    stderr = train_error(tmp_path, ["+model.hiden_size=3"])
    assert "model.hiden_size is not a parameter of rnnlab.models.cells.dense.DenseCore" in stderr
    assert "Did you mean model.hidden_size?" in stderr
    assert "Allowed keys: cell, hidden_size, num_layers, dropout, nonlinearity" in stderr


def test_a_tensorboard_logger_key_is_checked_against_the_summary_writer_it_goes_to(tmp_path):
    stderr = train_error(tmp_path, ["++logger.bogus_arg=1"])
    assert "logger.bogus_arg is not a parameter of" in stderr
    assert "flush_secs" in stderr  # SummaryWriter's keys are the logger's too


def test_a_summary_writer_setting_on_the_tensorboard_logger_is_accepted(train_run):
    _, run_dir = train_run([*TINY, "++logger.flush_secs=5"])
    assert read_json(run_dir / "run.json")["status"] == "completed"


@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ("model.hidden_size=0", "a whole number >= 1"),
        ("model.hidden_size=-4", "a whole number >= 1"),
        ("model.hidden_size=1.5", "a whole number >= 1"),
        ("model.hidden_size=abc", "a whole number >= 1"),
        ("model.num_layers=0", "a whole number >= 1"),
        ("data.batch_size=0", "a whole number >= 1"),
        ("trainer.max_epochs=-2", "or -1 for no limit"),
        ("task.context_frames=0", "a whole number >= 1"),
        ("task.predict_frames=2.5", "a whole number >= 1"),
        ("optimizer.lr=0", "a number > 0"),
        ("optimizer.lr=-0.001", "a number > 0"),
        ("model.dropout=1.0", "a number in [0, 1)"),
        ("model.dropout=-0.1", "a number in [0, 1)"),
    ],
)
def test_bad_value_names_key_value_and_what_is_allowed(tmp_path, override, allowed):
    key, value = override.split("=")
    stderr = train_error(tmp_path, [override])
    assert f"{key}=" in stderr and value in stderr and allowed in stderr


def test_max_epochs_minus_one_without_another_limit_would_train_forever(tmp_path):
    stderr = train_error(tmp_path, ["trainer.max_epochs=-1"])
    assert "would train forever" in stderr and "++trainer.max_steps=<N>" in stderr


def test_more_frames_than_the_sequences_have(tmp_path):
    stderr = train_error(tmp_path, ["task.context_frames=12", "task.predict_frames=10"])
    assert "task.context_frames + task.predict_frames = 12 + 10 = 22 frames" in stderr
    assert "sequences have 20" in stderr


def test_per_frame_task_on_data_with_per_sequence_labels(tmp_path):
    example = Path(__file__).resolve().parent / "user_extension"
    stderr = train_error(
        tmp_path,
        [
            "data=blinking",
            "task=classify",
            "task.target=per_frame",
            f"hydra.searchpath=[file://{example / 'conf'}]",
        ],
        env={"PYTHONPATH": str(example)},
        base=["trainer.max_epochs=1"],
    )
    assert "task.target=per_frame needs a label per frame" in stderr
    assert "task.target=per_sequence" in stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_trainer_without_a_gpu_says_how_to_use_the_cpu(tmp_path):
    stderr = train_error(tmp_path, ["trainer=gpu"])
    assert "no CUDA GPU" in stderr and "trainer=cpu" in stderr


def test_unparsable_override_is_explained(tmp_path):
    stderr = train_error(tmp_path, ["model.hidden_size=[1,"])
    assert "cannot be parsed" in stderr and "model.hidden_size=[1," in stderr
