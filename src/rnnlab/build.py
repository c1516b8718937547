"""Build the pieces of a run from a composed config: data module, task, trainer."""

from __future__ import annotations

from collections.abc import Sequence

import lightning as L
from hydra.utils import get_class, instantiate
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from omegaconf import DictConfig

from rnnlab.checkpoint_io import CommitCheckpoints, CommittedCheckpointIO
from rnnlab.config import build_from_config, to_primitive
from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.errors import ConfigError


def build_datamodule(data: DictConfig | dict) -> SequenceDataModule:
    """The data module described by the ``data`` config group."""
    datamodule = build_from_config(to_primitive(data), "data")
    if not isinstance(getattr(datamodule, "spec", None), DataSpec):
        raise ConfigError(
            f"data._target_={type(datamodule).__qualname__} has no `spec` property returning a "
            "DataSpec; subclass rnnlab.data.SequenceDataModule (README: adding your own dataset)."
        )
    return datamodule


def build_task(cfg: DictConfig, spec: DataSpec) -> L.LightningModule:
    """The task module: ``cfg.task`` plus the core (``cfg.model``) and ``cfg.optimizer``."""
    return build_from_config(
        to_primitive(cfg.task),
        "task",
        model=to_primitive(cfg.model),
        optimizer=to_primitive(cfg.optimizer),
        data_spec=spec.as_dict(),
    )


def build_trainer(
    cfg: DictConfig, extra_callbacks: Sequence[Callback] = (), purge_step: int | None = None
) -> L.Trainer:
    """Lightning's Trainer from ``cfg.trainer`` with the configured logger and callbacks.

    Checkpoints are committed only once complete and logged up to (see
    :mod:`rnnlab.checkpoint_io`). ``purge_step``: when resuming, TensorBoard hides events
    logged at or after this step by the interrupted attempt, so no step appears twice.
    """
    logger: Logger | bool = False
    if cfg.get("logger"):
        extra = {}
        if purge_step is not None and issubclass(get_class(cfg.logger._target_), TensorBoardLogger):
            extra["purge_step"] = purge_step
        logger = instantiate(cfg.logger, **extra)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    checkpoint_io = CommittedCheckpointIO()
    return instantiate(
        cfg.trainer,
        logger=logger,
        callbacks=[*callbacks, *extra_callbacks, CommitCheckpoints(checkpoint_io)],
        plugins=[checkpoint_io],
    )
