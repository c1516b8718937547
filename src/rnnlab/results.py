"""Final metrics of a run: gathered from the Trainer, logged as TensorBoard hparams, summarised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from omegaconf import DictConfig

from rnnlab.config import to_primitive

HPARAM_GROUPS = ("data", "model", "task", "optimizer", "trainer")


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


def best_score(trainer: L.Trainer) -> float | None:
    callback = checkpoint_callback(trainer)
    if callback is None or callback.best_model_score is None:
        return None
    return float(callback.best_model_score)


def hparams_from_config(cfg: DictConfig) -> dict[str, Any]:
    """The config groups that define a run, plus seed and tags, for TensorBoard's HPARAMS tab."""
    params = {group: to_primitive(cfg[group]) for group in HPARAM_GROUPS if group in cfg}
    params["seed"] = cfg.get("seed")
    params["tags"] = ",".join(map(str, cfg.get("tags") or []))
    return params


def log_hparams_with_metrics(
    trainer: L.Trainer, cfg: DictConfig, metrics: Mapping[str, float]
) -> None:
    """Write the run's hparams with its final metrics, so the HPARAMS tab compares runs."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            logger.log_hyperparams(hparams_from_config(cfg), metrics=dict(metrics),
                                   step=trainer.global_step)
            logger.finalize("success")
