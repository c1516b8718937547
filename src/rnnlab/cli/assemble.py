"""Assemble a run from its composed config: the data module and the task around the core."""

from __future__ import annotations

import functools
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig

from rnnlab.config import build_from_config, import_target, to_primitive
from rnnlab.data.spec import DataSpec
from rnnlab.errors import ConfigError
from rnnlab.models.budget import BudgetFit, base_width, fit_width, scale_width
from rnnlab.values import width_key_of


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


def build_task(
    cfg: DictConfig, spec: DataSpec, model: dict[str, Any] | None = None
) -> L.LightningModule:
    """The task module: ``cfg.task`` plus the core, ``cfg.optimizer`` and, when one is chosen,
    ``cfg.scheduler``.

    ``model``: the model config with its width resolved (:func:`size_model`); by default
    ``cfg.model``, resolved here.
    """
    if model is None:
        model, _ = size_model(cfg, spec)
    scheduler = to_primitive(cfg.get("scheduler")) or None  # scheduler=none: {}
    return build_from_config(
        to_primitive(cfg.task),
        "task",
        model=model,
        optimizer=to_primitive(cfg.optimizer),
        data_spec=spec.as_dict(),
        **({"scheduler": scheduler} if scheduler else {}),
    )


def trainable_parameters(module: torch.nn.Module) -> int:
    """The number of trainable parameters of ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def size_model(cfg: DictConfig, spec: DataSpec) -> tuple[dict[str, Any], BudgetFit | None]:
    """``cfg.model`` as the core is built from it, and how ``model.param_budget`` sized it.

    Without a budget the config is returned as it is (less ``param_budget``). With one, the
    core's width (its class's ``width_key``) is searched by bisection over integer sizes,
    building the whole task at each size (on torch's ``meta`` device: no memory, no data), so
    that the task's trainable parameters (core, adapters and head) are as close to the budget
    as possible. A budget below the smallest model (width 1) is refused.
    """
    model = to_primitive(cfg.model)
    budget = model.pop("param_budget", None)
    if budget is None:
        return model, None
    core_class = import_target(model.get("_target_"), "model")
    width_key = width_key_of(core_class)
    base = base_width(model, core_class, width_key)

    def sized(size: int) -> dict[str, Any]:
        return {**model, width_key: scale_width(base, size)}

    @functools.cache
    def count(size: int) -> int:
        return trainable_parameters(_build_counted(cfg, spec, sized(size)))

    smallest = count(1)
    if budget < smallest:
        raise ConfigError(
            f"model.param_budget={budget} is below the smallest model of this kind: "
            f"{model['_target_']} with model.{width_key}={scale_width(base, 1)} already has "
            f"{smallest:,} trainable parameters for frames of (C, H, W) = {spec.frame_shape} "
            f"(core, adapters and head of task {cfg.task.get('_target_')}). Set "
            f"model.param_budget to at least {smallest:,}, or make the model's fixed part smaller "
            "(smaller frames, fewer layers, a smaller head)."
        )
    try:
        size = fit_width(count, budget)
    except ValueError as error:
        raise ConfigError(
            f"model.param_budget={budget} cannot be reached by widening "
            f"{model['_target_']} (model.{width_key}): {error}. Does {width_key} set the "
            "core's width?"
        ) from None
    resolved = sized(size)
    step = count(size + 1) - count(size)
    return resolved, BudgetFit(budget, width_key, resolved[width_key], count(size), step)


def _build_counted(cfg: DictConfig, spec: DataSpec, model: dict[str, Any]) -> torch.nn.Module:
    """The task at one candidate width, built to count its parameters: on the ``meta`` device
    (no memory), or for real if a component cannot be built there."""
    try:
        with torch.device("meta"):
            return build_task(cfg, spec, model)
    except Exception:  # e.g. a user's core that reads tensor values while it is built
        return build_task(cfg, spec, model)
