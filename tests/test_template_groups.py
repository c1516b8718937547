"""The config groups a Lightning-Hydra template user reaches for: debug=, callbacks that compose
from one file each, several loggers at once, and extras (real Hydra composition; the entrypoint
for the runs)."""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
from lightning.pytorch.callbacks import (
    EarlyStopping,
    LearningRateMonitor,
    ModelCheckpoint,
    RichModelSummary,
    RichProgressBar,
)
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.profilers import SimpleProfiler
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnlab.cli.extras import apply_extras
from rnnlab.errors import ConfigError
from rnnlab.run.trainer import build_trainer
from tests.conftest import TINY, read_json, run_cli


def trainer_for(compose_config, tmp_path: Path, *overrides: str):
    """Lightning's Trainer as rnnlab builds it from the config composed with ``overrides``."""
    return build_trainer(compose_config([*TINY, f"paths.output_dir={tmp_path}", *overrides]))


@pytest.mark.parametrize(
    ("choice", "setting"),
    [
        ("default", lambda t: t.max_epochs == 1),
        ("fdr", lambda t: t.fast_dev_run is True),
        ("overfit", lambda t: t.overfit_batches == 3),
        ("limit", lambda t: (t.limit_train_batches, t.limit_val_batches) == (10, 5)),
        ("profiler", lambda t: isinstance(t.profiler, SimpleProfiler)),
    ],
)
def test_each_debug_choice_builds_a_one_process_cpu_trainer_with_its_setting(
    compose_config, tmp_path, choice, setting
):
    cfg = compose_config([f"debug={choice}"])
    assert cfg.trainer.accelerator == "cpu" and cfg.trainer.devices == 1
    assert cfg.trainer.detect_anomaly is True and cfg.data.num_workers == 0
    assert cfg.hydra.run.dir.startswith("outputs/debug/runs/")
    assert setting(trainer_for(compose_config, tmp_path, f"debug={choice}"))


def test_default_callbacks_are_merged_from_one_file_each(compose_config, tmp_path):
    cfg = compose_config()
    assert list(cfg.callbacks) == [
        "best_checkpoint",
        "last_checkpoint",
        "model_summary",
        "progress_bar",
        "progress_log",
        "lr_monitor",
    ]
    trainer = trainer_for(compose_config, tmp_path, "callbacks.model_summary.max_depth=2")
    assert len([c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)]) == 2
    summary = next(c for c in trainer.callbacks if isinstance(c, RichModelSummary))
    assert summary._max_depth == 2
    assert any(isinstance(c, RichProgressBar) for c in trainer.callbacks)
    assert any(isinstance(c, LearningRateMonitor) for c in trainer.callbacks)
    assert not any(isinstance(c, EarlyStopping) for c in trainer.callbacks)


def test_early_stopping_composes_with_the_defaults(compose_config, tmp_path):
    trainer = trainer_for(
        compose_config,
        tmp_path,
        "callbacks=[default,early_stopping]",
        "callbacks.early_stopping.patience=5",
        "monitor.metric=val/mse_per_frame",
    )
    stopping = next(c for c in trainer.callbacks if isinstance(c, EarlyStopping))
    assert (stopping.monitor, stopping.patience) == ("val/mse_per_frame", 5)
    assert any(isinstance(c, LearningRateMonitor) for c in trainer.callbacks)
    assert len([c for c in trainer.callbacks if isinstance(c, ModelCheckpoint)]) == 2


def test_with_logging_off_the_default_lr_monitor_is_left_out(compose_config, tmp_path):
    for logging_off in ("~logger", "++trainer.logger=false"):
        trainer = trainer_for(compose_config, tmp_path, logging_off)
        assert not any(isinstance(c, LearningRateMonitor) for c in trainer.callbacks)


def test_logger_many_builds_tensorboard_and_csv_together(compose_config, tmp_path):
    loggers = trainer_for(compose_config, tmp_path, "logger=many").loggers
    assert [type(logger) for logger in loggers] == [TensorBoardLogger, CSVLogger]


def test_extras_check_their_values_and_can_silence_warnings(monkeypatch):
    monkeypatch.setattr(warnings, "filters", list(warnings.filters))
    with pytest.raises(ConfigError, match=r"extras.print_config='yes' is not valid"):
        apply_extras({"extras": {"print_config": "yes"}})
    extras = apply_extras({"extras": {"print_config": False, "ignore_warnings": True}})
    assert extras.print_config is False and warnings.filters[0][0] == "ignore"


def test_debug_fdr_runs_one_batch_of_each_stage_end_to_end(train_run):
    _, run_dir = train_run([*TINY, "debug=fdr"])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and record["progress"]["steps"] == 1
    assert "test/loss" in record["metrics"]["final"]
    assert not (run_dir / "checkpoints").exists()  # fast_dev_run saves none


def test_extras_print_config_false_prints_no_config_tree(train_run):
    result, _ = train_run([*TINY, "debug=fdr", "extras.print_config=false"])
    assert "├── data" not in result.stdout and "run directory:" in result.stdout


def test_logger_many_writes_the_same_scalars_to_tensorboard_and_csv(train_run):
    _, run_dir = train_run([*TINY, "logger=many", "trainer.max_epochs=2"])
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    from_tensorboard = [round(e.value, 5) for e in events.Scalars("val/loss")]
    with open(run_dir / "csv" / "metrics.csv", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row.get("val/loss")]
    assert len(from_tensorboard) == 2
    assert [round(float(row["val/loss"]), 5) for row in rows] == from_tensorboard
    assert read_json(run_dir / "run.json")["tensorboard_dir"] == str(run_dir / "tensorboard")


def test_unknown_debug_choice_lists_the_choices(tmp_path):
    result = run_cli("rnnlab.train", ["debug=fast"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "Valid choices: default, fdr, limit, overfit, profiler" in result.stderr
