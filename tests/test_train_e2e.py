"""The real entrypoint, in a subprocess: every task x cell trains, tests and records its run."""

from __future__ import annotations

import pytest

from tests.conftest import TINY, read_json, run_cli


@pytest.mark.parametrize("task", ["classify", "next_frame"])
@pytest.mark.parametrize("model", ["rnn", "gru", "lstm"])
def test_tiny_run_of_each_task_and_cell_completes(train_run, model, task):
    _, run_dir = train_run([f"model={model}", f"task={task}", *TINY])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["choices"]["model"] == model and record["choices"]["task"] == task
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


def test_run_prints_config_tree_final_metrics_and_tensorboard_command(train_run):
    result, run_dir = train_run(TINY)
    out = result.stdout
    assert (
        "config" in out
        and "├── data" in out
        and "_target_: rnnlab.data.MovingDigitsDataModule" in out
    )
    assert "final metrics" in out and "test/mse_per_frame" in out
    assert f"run directory: {run_dir}" in out
    assert f"tensorboard --logdir {run_dir / 'tensorboard'}" in out


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


def test_multirun_sweeps_every_model_and_task(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        ["-m", "model=rnn,gru,lstm", "task=classify,next_frame", *TINY, f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit())
    assert len(runs) == 6
    seen = set()
    for run in runs:
        record = read_json(run / "run.json")
        assert record["status"] == "completed"
        seen.add((record["choices"]["model"], record["choices"]["task"]))
        assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert seen == {(m, t) for m in ("rnn", "gru", "lstm") for t in ("classify", "next_frame")}
