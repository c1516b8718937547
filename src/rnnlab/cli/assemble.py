"""Assemble a run from its composed config: the data module and the task around the core."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig

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
    """The task module: ``cfg.task`` plus the core (``cfg.model``), ``cfg.optimizer`` and, when
    one is chosen, ``cfg.scheduler``."""
    scheduler = to_primitive(cfg.get("scheduler")) or None  # scheduler=none: {}
    return build_from_config(
        to_primitive(cfg.task),
        "task",
        model=to_primitive(cfg.model),
        optimizer=to_primitive(cfg.optimizer),
        data_spec=spec.as_dict(),
        **({"scheduler": scheduler} if scheduler else {}),
    )
