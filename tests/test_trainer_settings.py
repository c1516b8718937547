"""Lightning habits through the real entrypoint: every Trainer setting a user passes either works
or is refused in one paragraph, and the summary and run.json say which weights were tested."""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnlab.run.trainer import cpu_has_native_bf16
from tests.conftest import PATIENCE_S, TINY, TINY_RUN, read_json
from tests.data_makers import tiny_data_overrides

# oneDNN on a CPU without native bf16 instructions (most laptops, CI runners): its fused LSTM has
# no bf16 kernel there. Capping oneDNN's instruction set reproduces that on any x86 CPU.
NO_BF16_CPU = {"ONEDNN_MAX_CPU_ISA": "AVX2"}


def final_metrics(run_dir: Path) -> dict[str, float]:
    return read_json(run_dir / "run.json")["metrics"]["final"]


def weights_tested(run_dir: Path) -> dict:
    return read_json(run_dir / "run.json")["metrics"]["tested"]


def progress(run_dir: Path) -> dict:
    return read_json(run_dir / "run.json")["progress"]


def test_trains_by_steps_with_max_steps_and_unlimited_epochs(train_run):
    _, run_dir = train_run([*TINY, "++trainer.max_steps=6", "++trainer.max_epochs=-1"])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["progress"]["steps"] == 6  # 4 batches an epoch: stopped by steps, mid-epoch


def test_checkpointing_off_writes_no_checkpoint_and_tests_the_final_weights(train_run):
    result, run_dir = train_run([*TINY, "++trainer.enable_checkpointing=false"])
    assert not (run_dir / "checkpoints").exists()
    record = read_json(run_dir / "run.json")
    assert record["checkpoints"] == {"best": None, "last": None}
    tested = record["metrics"]["tested"]
    assert tested["weights"] == "final" and tested["checkpoint"] is None
    assert "test/mse_per_frame" in record["metrics"]["final"]
    assert "test/*: the final weights" in result.stdout
    assert "trainer.enable_checkpointing=false" in result.stdout


def test_limit_test_batches_zero_skips_the_test_and_says_why(train_run):
    result, run_dir = train_run([*TINY, "++trainer.limit_test_batches=0"])
    assert not [name for name in final_metrics(run_dir) if name.startswith("test/")]
    assert weights_tested(run_dir)["weights"] is None
    assert "test/*: not run: trainer.limit_test_batches=0" in result.stdout


def test_limit_val_batches_zero_tests_the_final_weights_and_says_why(train_run):
    result, run_dir = train_run([*TINY, "++trainer.limit_val_batches=0"])
    assert "test/mse_per_frame" in final_metrics(run_dir)
    assert weights_tested(run_dir)["weights"] == "final"
    assert "no validation ran (trainer.limit_val_batches=0)" in result.stdout
    assert "val/*: none (no validation ran)" in " ".join(result.stdout.split())


@pytest.mark.xdist_group("tiny_run")
def test_the_summary_names_the_best_checkpoint_when_it_was_tested(tiny_run):
    result, run_dir = tiny_run
    assert weights_tested(run_dir) == {
        "weights": "best",
        "checkpoint": str(run_dir / "checkpoints" / "best.ckpt"),
        "description": "the best checkpoint by val/mse_per_frame",  # next_frame's monitor
    }
    assert "test/*: the best checkpoint by val/mse_per_frame" in result.stdout


@pytest.mark.xdist_group("tiny_run")
def test_testing_a_given_checkpoint_names_it(tiny_run, train_run):
    ckpt = tiny_run[1] / "checkpoints" / "last.ckpt"
    result, run_dir = train_run([*TINY, "train=false", f"ckpt_path={ckpt}"])
    assert weights_tested(run_dir)["weights"] == "checkpoint"
    assert f"test/*: the given checkpoint {ckpt}" in result.stdout


@pytest.mark.parametrize("task", ["classify", "next_frame"])
def test_each_task_declares_the_metrics_it_logs_while_fitting(train_run, task):
    from hydra.utils import get_class

    _, run_dir = train_run([*TINY, f"task={task}"])
    record = read_json(run_dir / "run.json")
    logged = {
        name
        for name in record["metrics"]["final"]
        if name.split("/")[0] in ("train", "val") and not name.endswith("_best")
    }
    declared = get_class(record["config"]["task"]["_target_"]).fit_metrics
    assert logged <= declared
    assert {name for name in declared if name.startswith("val/")} <= logged


# ---- item 13: each habit, one tiny run -----------------------------------------------------


def test_fast_dev_run_runs_one_batch_and_tests_the_final_weights(train_run):
    result, run_dir = train_run([*TINY, "++trainer.fast_dev_run=true"])
    assert progress(run_dir)["steps"] == 1
    assert weights_tested(run_dir)["weights"] == "final"
    assert "trainer.fast_dev_run saves no checkpoints" in result.stdout


def test_overfit_batches_trains_on_that_many_batches(train_run):
    result, run_dir = train_run([*TINY, "++trainer.overfit_batches=2"])
    assert progress(run_dir)["steps"] == 2
    assert "test/*: the best checkpoint by val/mse_per_frame" in result.stdout


def test_accumulate_grad_batches_steps_once_per_two_batches(train_run):
    _, run_dir = train_run([*TINY, "++trainer.accumulate_grad_batches=2"])
    assert progress(run_dir)["steps"] == 2  # 4 batches


def validation_rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "csv" / "metrics.csv") as file:
        return [row for row in csv.DictReader(file) if row.get("val/loss")]


def test_val_check_interval_validates_twice_an_epoch(train_run):
    _, run_dir = train_run([*TINY, "logger=csv", "++trainer.val_check_interval=0.5"])
    assert [row["step"] for row in validation_rows(run_dir)] == ["1", "3"]


def test_check_val_every_n_epoch_beyond_the_run_tests_the_final_weights(train_run):
    result, run_dir = train_run([*TINY, "++trainer.check_val_every_n_epoch=2"])
    assert not (run_dir / "checkpoints").exists()
    assert weights_tested(run_dir)["weights"] == "final"
    assert "test/*: the final weights" in result.stdout
    assert "trainer.check_val_every_n_epoch=2, 1 epoch(s) trained" in result.stdout


def test_bf16_mixed_on_a_cpu_without_bf16_instructions_trains_the_lstm_and_warns(train_run):
    env = {**NO_BF16_CPU, "PYTHONWARNINGS": "default"}
    result, run_dir = train_run([*TINY, "++trainer.precision=bf16-mixed"], env=env)
    assert read_json(run_dir / "run.json")["status"] == "completed"
    output = " ".join((result.stdout + result.stderr).split())
    assert "trainer.precision=bf16-mixed on a CPU without bfloat16 instructions" in output
    assert "++trainer.precision=32" in output


@pytest.mark.parametrize(
    ("capabilities", "onednn_max_isa", "native"),
    [
        ({"avx512_bf16": True}, None, True),
        ({"amx_bf16": True, "avx512_bf16": False}, None, True),
        ({"bf16": True, "architecture": "arm64"}, None, True),
        ({"avx512_f": True, "avx2": True}, None, False),  # AVX-512 alone: emulated
        ({"avx512_bf16": True}, "AVX2", False),  # oneDNN told to stop below bfloat16
        ({"avx512_bf16": True}, "avx512_core_bf16", True),
    ],
)
def test_native_bf16_needs_bf16_instructions_that_onednn_may_use(
    capabilities, onednn_max_isa, native
):
    assert cpu_has_native_bf16(capabilities, onednn_max_isa) is native


@pytest.mark.parametrize("precision", ["bf16-true", "64-true"])
@pytest.mark.parametrize("task", ["next_frame", "classify"])
def test_true_precision_feeds_frames_in_the_weights_dtype(train_run, precision, task):
    # Lightning converts the weights; frames arrive as uint8 and are scaled to the same dtype
    _, run_dir = train_run([*TINY, f"task={task}", f"++trainer.precision={precision}"])
    metrics = final_metrics(run_dir)
    assert metrics and all(math.isfinite(value) for value in metrics.values())


def test_every_core_runs_under_cpu_bf16_autocast():
    """Forward and backward of each core under CPU bf16 autocast, in a process whose oneDNN has
    no bf16 instructions (the LSTM's fused kernel fails there unless run in float32)."""
    script = """
import torch
from rnnlab.models.cells import ConvCore, DenseCore, FramewiseCore
cells = ("rnn", "gru", "lstm")
vector = [DenseCore(cell, input_size=12, hidden_size=8) for cell in cells]
conv = [ConvCore(cell, input_channels=2, hidden_channels=[4, 4]) for cell in cells]
runs = [(core, (12,), (8,)) for core in [*vector, FramewiseCore(input_size=12, hidden_size=8)]]
runs += [(core, (2, 6, 6), (4, 6, 6)) for core in conv]
for core, shape, out_shape in runs:
    with torch.autocast("cpu", dtype=torch.bfloat16):
        outputs, state = core(torch.rand(2, 5, *shape))
        outputs, state = core(torch.rand(2, 1, *shape), state)
    outputs.float().sum().backward()
    assert outputs.shape == (2, 1, *out_shape) and torch.isfinite(outputs.float()).all()
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, **NO_BF16_CPU},
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_limit_train_batches_fraction_trains_on_that_fraction(train_run):
    data = [*tiny_data_overrides("moving_digits"), "data.train_size=80"]  # 10 batches of 8
    _, run_dir = train_run([*data, *TINY_RUN, "++trainer.limit_train_batches=0.1"])
    assert progress(run_dir)["steps"] == 1


def test_max_time_stops_a_run_without_an_epoch_limit(train_run):
    args = [*TINY, "++trainer.max_epochs=-1", "++trainer.max_time=00:00:00:05"]
    _, run_dir = train_run(args)
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and record["progress"]["steps"] > 0
    assert "test/mse_per_frame" in record["metrics"]["final"]


def test_detect_anomaly_trains(train_run):
    _, run_dir = train_run([*TINY, "++trainer.detect_anomaly=true"])
    assert progress(run_dir)["steps"] == 4


def test_deterministic_with_max_steps_trains_that_many_steps(train_run):
    args = [*TINY, "deterministic=true", "++trainer.max_steps=3", "++trainer.max_epochs=-1"]
    _, run_dir = train_run(args)
    record = read_json(run_dir / "run.json")
    assert record["config"]["trainer"]["deterministic"] is True
    assert record["progress"]["steps"] == 3


def test_progress_bar_off_leaves_out_the_progress_bar_callback(train_run):
    with_bar = [arg for arg in TINY if arg != "~callbacks.progress_bar"]
    result, run_dir = train_run([*with_bar, "++trainer.enable_progress_bar=false"])
    assert read_json(run_dir / "run.json")["status"] == "completed"
    assert "it/s" not in result.stdout  # no progress bar drawn


@pytest.mark.parametrize("override", ["++trainer.logger=false", "~logger", "logger=null"])
def test_logging_off_runs_without_logs(train_run, override):
    result, run_dir = train_run([*TINY, override])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and record["tensorboard_dir"] is None
    assert not (run_dir / "tensorboard").exists()
    assert "test/mse_per_frame" in record["metrics"]["final"]
    assert "TensorBoard:" not in result.stdout


def test_a_signal_with_checkpointing_off_stops_without_saving(tmp_path):
    run_dir = tmp_path / "run"
    args = [
        *TINY,
        "data.train_size=512",  # 64 batches an epoch
        "trainer.max_epochs=3",
        "logger=csv",
        "+logger.flush_logs_every_n_steps=1",
        "++trainer.enable_checkpointing=false",
        f"hydra.run.dir={run_dir}",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnlab.train", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    # metrics.csv is first written after the first training step: training is under way.
    deadline = time.monotonic() + PATIENCE_S
    while not (run_dir / "csv" / "metrics.csv").is_file():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.01)
    process.send_signal(signal.SIGUSR1)
    assert process.wait(timeout=PATIENCE_S) == 128 + signal.SIGUSR1
    record = read_json(run_dir / "run.json")
    assert record["status"] == "interrupted"
    assert "no new checkpoint (trainer.enable_checkpointing=false)" in record["failure"]
    assert not (run_dir / "checkpoints").exists()


def test_a_run_stopped_early_says_when_and_why(train_run):
    stop = [
        "callbacks=[default,early_stopping]",
        "trainer.max_epochs=3",
        "+callbacks.early_stopping.stopping_threshold=1e9",  # val/loss is below it at once
    ]
    result, run_dir = train_run([*TINY, *stop])
    record = read_json(run_dir / "run.json")
    assert record["config"]["trainer"]["max_epochs"] == 3 and record["progress"]["epochs"] == 1
    output = " ".join(result.stdout.split())
    assert "early stopping ended training after epoch 1: Stopping threshold reached" in output
