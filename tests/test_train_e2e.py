"""The real entrypoint, in a subprocess: every task x cell trains, tests and records its run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY, read_json, sweep_runs


@pytest.mark.xdist_group("sweep_all_cells")
def test_multirun_sweeps_every_model_and_task(sweep_all_cells):
    runs = sweep_runs(sweep_all_cells)
    assert set(runs) == {(m, t) for m in ("rnn", "gru", "lstm") for t in ("classify", "next_frame")}
    assert (sweep_all_cells / "multirun.yaml").is_file()


@pytest.mark.xdist_group("sweep_all_cells")
@pytest.mark.parametrize("task", ["classify", "next_frame"])
@pytest.mark.parametrize("model", ["rnn", "gru", "lstm"])
def test_each_cell_and_task_trains_tests_and_records_its_run(sweep_all_cells, model, task):
    run_dir = sweep_runs(sweep_all_cells)[(model, task)]
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["config"]["model"]["cell"] == model
    final = record["metrics"]["final"]
    expected = (
        {"test/acc", "test/f1"}
        if task == "classify"
        else {
            "test/mse_per_frame",
            "test/mae_per_frame",
            "test/baseline_copy_last_mse_per_frame",
            "test/baseline_blank_mse_per_frame",
        }
    )
    assert expected <= set(final)
    assert (run_dir / "checkpoints" / "best.ckpt").is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    tensorboard_dir = Path(record["tensorboard_dir"])
    assert tensorboard_dir.parent == run_dir / "tensorboard"  # named by what the sweep varies
    assert list(tensorboard_dir.glob("events.out.tfevents.*"))


def test_run_prints_config_tree_final_metrics_and_tensorboard_command(train_run):
    result, run_dir = train_run(TINY, env={"PYTHONWARNINGS": "default"})  # warnings as users see
    out = result.stdout
    assert (
        "config" in out
        and "├── data" in out
        and "_target_: rnnlab.data.MovingDigitsDataModule" in out
    )
    assert "final metrics" in out and "test/mse_per_frame" in out
    assert f"run directory: {run_dir}" in out
    assert f"tensorboard --logdir {run_dir / 'tensorboard'}" in out
    assert "on_before_batch_transfer" not in result.stderr  # rnnlab's own hook, not a mistake


def test_run_returns_monitored_metric_in_run_record(train_run):
    _, run_dir = train_run([*TINY, "task=classify", "monitor.metric=val/acc", "monitor.mode=max"])
    best = read_json(run_dir / "run.json")["metrics"]["best"]
    assert best["metric"] == "val/acc" and best["mode"] == "max"
    assert 0.0 <= best["value"] <= 1.0


def test_csv_logger_writes_metrics_csv(train_run):
    _, run_dir = train_run([*TINY, "logger=csv"])
    assert "val/mse_per_frame" in (run_dir / "csv" / "metrics.csv").read_text()


def test_tags_are_recorded(train_run):
    _, run_dir = train_run([*TINY, "tags=[baseline,lstm]"])
    assert read_json(run_dir / "run.json")["tags"] == ["baseline", "lstm"]


def test_ckpt_path_continues_fitting_from_a_checkpoint(train_run):
    _, first = train_run(TINY)
    ckpt = first / "checkpoints" / "last.ckpt"
    _, second = train_run([*TINY, f"ckpt_path={ckpt}", "trainer.max_epochs=2"])
    record = read_json(second / "run.json")
    assert record["progress"]["epochs"] == 2
    steps_one = read_json(first / "run.json")["progress"]["steps"]
    assert record["progress"]["steps"] == 2 * steps_one
