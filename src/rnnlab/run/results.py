"""Final metrics of a run: gathered from the Trainer, logged as TensorBoard hparams, summarised."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig
from torch.utils.tensorboard.summary import hparams

from rnnlab.config import to_primitive
from rnnlab.config.groups import HPARAM_GROUPS
from rnnlab.run.callbacks import TrainThroughput
from rnnlab.run.directory import last_checkpoint_path
from rnnlab.run.record import final_fields


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Lightning's ``callback_metrics`` (tensors) as plain floats, sorted by name."""
    return {
        name: float(value.item() if isinstance(value, torch.Tensor) else value)
        for name, value in sorted(metrics.items())
    }


def checkpoint_callback(trainer: L.Trainer) -> ModelCheckpoint | None:
    callback = trainer.checkpoint_callback
    return callback if isinstance(callback, ModelCheckpoint) else None


def best_checkpoint(trainer: L.Trainer) -> str | None:
    """Path of the best checkpoint so far, or ``None`` when none was saved (e.g. fast_dev_run)."""
    callback = checkpoint_callback(trainer)
    return (callback.best_model_path or None) if callback else None


def last_checkpoint(run_dir: Path) -> str | None:
    """The run directory's ``checkpoints/last.ckpt``, if it has one."""
    path = last_checkpoint_path(run_dir)
    return str(path) if path.is_file() else None


def best_score(trainer: L.Trainer) -> float | None:
    callback = checkpoint_callback(trainer)
    if callback is None or callback.best_model_score is None:
        return None
    return float(callback.best_model_score)


def tensorboard_log_dir(trainer: L.Trainer) -> Path | None:
    """Directory of the run's TensorBoard events, or ``None`` when it logs elsewhere."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return Path(logger.log_dir)
    return None


def csv_metrics(trainer: L.Trainer) -> str | None:
    """The metrics.csv of a CSVLogger, if the run logs to one."""
    for logger in trainer.loggers:
        if isinstance(logger, CSVLogger):
            return str(Path(logger.log_dir) / "metrics.csv")
    return None


def flatten_hparams(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts -> ``{"group/key": value}`` with values TensorBoard can show (lists as text)."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_hparams(value, f"{name}/"))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = str(value)
    return flat


def hparams_from_config(cfg: DictConfig) -> dict[str, Any]:
    """The config groups that define a run, plus seed and tags, flattened for the HPARAMS tab."""
    params = {group: to_primitive(cfg[group]) for group in HPARAM_GROUPS if group in cfg}
    params["seed"] = cfg.get("seed")
    params["tags"] = ",".join(map(str, cfg.get("tags") or []))
    return flatten_hparams(params)


def log_hparams_with_metrics(
    trainer: L.Trainer,
    cfg: DictConfig,
    metrics: Mapping[str, float],
    new_metrics: Mapping[str, float],
) -> None:
    """Write the run's hparams with its final metrics, so the HPARAMS tab compares runs.

    The HPARAMS tab reads each metric's value from the run's scalar of the same tag: ``metrics``
    are already logged as scalars, ``new_metrics`` (e.g. the best monitored value) are logged
    here, once, at the last step.
    """
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            step = trainer.global_step
            logger.log_metrics(dict(new_metrics), step)
            writer = logger.experiment._get_file_writer()
            for summary in hparams(hparams_from_config(cfg), {**metrics, **new_metrics}):
                writer.add_summary(summary, step)
            logger.finalize("success")


def final_report(
    cfg: DictConfig,
    trainer: L.Trainer,
    task: L.LightningModule,
    metrics: Mapping[str, float],
    throughput: TrainThroughput,
    tested: str,
) -> dict[str, Any]:
    """The run.json fields a finished run adds, gathered from the Trainer (schema: record.py)."""
    tensorboard_dir = tensorboard_log_dir(trainer)
    return final_fields(
        metrics=dict(metrics),
        monitor={"metric": cfg.monitor.metric, "mode": cfg.monitor.mode},
        best_value=best_score(trainer),
        tested=tested,
        parameters=sum(p.numel() for p in task.parameters() if p.requires_grad),
        epochs=trainer.current_epoch,
        steps=trainer.global_step,
        train_samples=throughput.samples,
        samples_per_s=throughput.samples_per_second,
        best_checkpoint=best_checkpoint(trainer),
        last_checkpoint=last_checkpoint(Path(cfg.paths.output_dir)),
        tensorboard_dir=str(tensorboard_dir) if tensorboard_dir else None,
    )
