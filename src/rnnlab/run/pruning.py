"""Pruning for Optuna searches: report the monitored validation metric after every epoch and stop
a trial the study's pruner gives up on (``optuna.TrialPruned``, recorded as ``pruned``).

The callback is optuna-integration's ``PyTorchLightningPruningCallback`` (checked with
Lightning 2.6): it reports ``monitor.metric`` at each validation end (sanity check skipped) with
the epoch as step, and raises ``TrialPruned`` when ``trial.should_prune()``.
"""

from __future__ import annotations

from typing import Any

from optuna import TrialPruned
from optuna_integration import PyTorchLightningPruningCallback

from rnnlab.run.study import running_trial

__all__ = ["PyTorchLightningPruningCallback", "TrialPruned", "pruning_callbacks"]


def study_pruner() -> Any:
    """The pruner of the running search (``hydra.sweeper.pruner``), or Optuna's default."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate

    if not HydraConfig.initialized():
        return None
    pruner = HydraConfig.get().sweeper.get("pruner")
    return instantiate(pruner) if pruner else None


def pruning_callbacks(monitor: str) -> list[PyTorchLightningPruningCallback]:
    """A pruning callback on ``monitor`` when this run is a trial of an Optuna search, else []."""
    trial = running_trial(pruner=study_pruner())
    return [PyTorchLightningPruningCallback(trial, monitor=monitor)] if trial else []
