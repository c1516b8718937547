"""Learning-rate schedules of the ``scheduler`` config group.

Each is a torch scheduler with the Lightning ``interval`` it steps at. Those that need the length
of training get ``total_steps`` (the trainer's optimizer steps) from rnnlab; warm-up, where it
applies, is part of the schedule. :class:`LearningRateMonitor` logs the rate (``lr-<optimizer>``).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar

import torch
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR, ReduceLROnPlateau

from rnnlab.config import build_from_config, import_target
from rnnlab.errors import ConfigError
from rnnlab.values import NON_NEGATIVE_INT, POSITIVE_NUMBER, Rule, is_number, one_of

OPEN_FRACTION = Rule(lambda v: is_number(v) and 0 < v < 1, "a number in (0, 1)")
RATIO = Rule(lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]")


class OneCycle(OneCycleLR):
    """One cycle (Smith 2018) per training: warm-up from ``lr / div_factor`` to the optimizer's
    ``lr`` over the first ``pct_start`` of the steps, then cosine annealing to
    ``lr / (div_factor * final_div_factor)``; stepped every optimizer step."""

    interval: ClassVar[str] = "step"
    value_rules: ClassVar[dict[str, Rule]] = {
        "pct_start": OPEN_FRACTION,
        "div_factor": POSITIVE_NUMBER,
        "final_div_factor": POSITIVE_NUMBER,
    }

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        max_lr = [group["lr"] for group in optimizer.param_groups]
        super().__init__(
            optimizer,
            max_lr=max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
        )


class WarmupCosine(LambdaLR):
    """Linear warm-up over ``warmup_steps`` to the optimizer's ``lr``, then cosine decay to
    ``min_lr_ratio * lr`` at the last step; stepped every optimizer step."""

    interval: ClassVar[str] = "step"
    value_rules: ClassVar[dict[str, Rule]] = {
        "warmup_steps": NON_NEGATIVE_INT,
        "min_lr_ratio": RATIO,
    }

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        total_steps: int,
        warmup_steps: int = 0,
        min_lr_ratio: float = 0.0,
    ) -> None:
        def factor(step: int) -> float:
            if step < warmup_steps:
                return (step + 1) / warmup_steps
            progress = min((step - warmup_steps) / max(total_steps - warmup_steps, 1), 1.0)
            return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

        super().__init__(optimizer, factor)


class Plateau(ReduceLROnPlateau):
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience``
    validations; stepped after every validation epoch."""

    interval: ClassVar[str] = "epoch"
    value_rules: ClassVar[dict[str, Rule]] = {
        "mode": one_of("min", "max"),
        "factor": OPEN_FRACTION,
        "patience": NON_NEGATIVE_INT,
        "cooldown": NON_NEGATIVE_INT,
    }

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        monitor: str = "val/loss",
        mode: str = "min",
        factor: float = 0.5,
        patience: int = 2,
        cooldown: int = 0,
    ) -> None:
        super().__init__(optimizer, mode=mode, factor=factor, patience=patience, cooldown=cooldown)
        self.monitor = monitor


def lr_scheduler_config(
    scheduler: dict[str, Any], optimizer: torch.optim.Optimizer, total_steps: float
) -> dict[str, Any]:
    """Lightning's ``lr_scheduler`` entry for the ``scheduler`` config, or a clear error."""
    cls = import_target(scheduler.get("_target_"), "scheduler")
    injected: dict[str, Any] = {"optimizer": optimizer}
    if "total_steps" in inspect.signature(cls).parameters:
        if not math.isfinite(total_steps) or total_steps < 1:
            raise ConfigError(
                f"scheduler._target_={scheduler['_target_']} needs the number of training steps, "
                "but this run has no step or epoch limit. Set trainer.max_epochs or "
                "++trainer.max_steps, or use scheduler=plateau or scheduler=none."
            )
        injected["total_steps"] = int(total_steps)
    built = build_from_config(scheduler, "scheduler", **injected)
    entry: dict[str, Any] = {"scheduler": built, "interval": getattr(cls, "interval", "epoch")}
    if isinstance(built, ReduceLROnPlateau):
        entry["monitor"] = getattr(built, "monitor", "val/loss")
    return entry
