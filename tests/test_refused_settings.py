"""Settings that cannot work are refused before anything is built (or as soon as Lightning says
so), with one paragraph that names the config key and the reason: exit code 2, no traceback."""

from __future__ import annotations

import pytest

from tests.conftest import TINY, read_json, run_cli


def refused(tmp_path, args: list[str]) -> tuple[str, str]:
    """Run rnnlab-train with TINY + ``args``; assert it was refused cleanly; (stdout, stderr)."""
    run_dir = tmp_path / "run"
    result = run_cli("rnnlab.train", [*TINY, *args, f"hydra.run.dir={run_dir}"], tmp_path)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert read_json(run_dir / "run.json")["status"] == "failed"
    return result.stdout, " ".join(result.stderr.split())


def test_testing_without_training_needs_a_checkpoint(tmp_path):
    stdout, stderr = refused(tmp_path, ["train=false", "test=true"])
    assert "train=false test=true without ckpt_path" in stderr and "ckpt_path=<" in stderr
    assert "├── data" not in stdout  # refused before anything is built


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["monitor.metric=val/los"], ["monitor.metric='val/los'", "monitor.metric=val/loss?"]),
        (["monitor.metric=val/acc"], ["monitor.metric='val/acc'", "val/mse_per_frame"]),
        (
            [
                "task=classify",
                "+callbacks.early_stop._target_=lightning.pytorch.callbacks.EarlyStopping",
                "+callbacks.early_stop.monitor=val/acuracy",
            ],
            ["callbacks.early_stop.monitor='val/acuracy'", "callbacks.early_stop.monitor=val/acc?"],
        ),
    ],
    ids=["typo", "metric-of-another-task", "callback-monitor"],
)
def test_a_monitored_metric_the_task_does_not_log_is_refused_before_training(
    tmp_path, args, expected
):
    stdout, stderr = refused(tmp_path, args)
    assert "├── data" not in stdout
    for text in expected:
        assert text in stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (
            "++trainer.precision=bogus",
            ["trainer.precision='bogus'", "Precision 'bogus' is invalid"],
        ),
        ("++trainer.accelerator=tpu", ["trainer.accelerator=tpu", "no TPU"]),
        ("++trainer.accelerator=quantum", ["trainer.accelerator='quantum'", "cpu, cuda"]),
        ("++trainer.max_time=bogus", ["trainer.max_time='bogus'", "not a valid duration"]),
        ("++trainer.strategy=nope", ["trainer.strategy='nope'", "invalid strategy name"]),
        (
            "callbacks.best_checkpoint.mode=maximum",
            ["callbacks.best_checkpoint.mode='maximum'", "can be min, max"],
        ),
        ("logger.save_dir=null", ["logger.save_dir=None", "not NoneType"]),
        ("++trainer.logger=tb", ["trainer.logger='tb'", "logger=null"]),
        (
            "++trainer.limit_train_batches=0.1",  # of 4 batches: none
            ["trainer.limit_train_batches=0.1", "0.1 * 4 < 1"],
        ),
        (
            "++trainer.val_check_interval=10",  # of 4 batches
            ["trainer.val_check_interval=10", "number of the training batches (4)"],
        ),
    ],
)
def test_a_trainer_logger_or_callback_that_cannot_be_built_names_its_key(
    tmp_path, override, expected
):
    _, stderr = refused(tmp_path, [override])
    for text in expected:
        assert text in stderr


def test_early_stopping_on_validation_without_validation_is_refused_before_training(tmp_path):
    args = ["task=classify", "callbacks=[default,early_stopping]", "++trainer.limit_val_batches=0"]
    stdout, stderr = refused(tmp_path, args)
    assert "├── data" not in stdout
    assert "trainer.limit_val_batches=0 runs no validation" in stderr
    assert "callbacks.early_stopping stops early on val/loss" in stderr
