"""Assemble a run from its composed config: the data module and the task around the core."""

from __future__ import annotations

import lightning as L
from omegaconf import DictConfig

from rnnlab.config import build_from_config, to_primitive
from rnnlab.data.spec import DataSpec
from rnnlab.errors import ConfigError


def build_datamodule(data: DictConfig | dict) -> L.LightningDataModule:
    """The data module described by the ``data`` config group: one of rnnlab's sources or any
    ``LightningDataModule`` (its spec is then inferred from a batch: :mod:`rnnlab.data.spec`)."""
    datamodule = build_from_config(to_primitive(data), "data")
    if not isinstance(datamodule, L.LightningDataModule):
        raise ConfigError(
            f"data._target_={data['_target_']!r} built a {type(datamodule).__qualname__}, not a "
            "lightning.pytorch.LightningDataModule. Point data._target_ at a LightningDataModule "
            "(README: adding your own dataset)."
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
