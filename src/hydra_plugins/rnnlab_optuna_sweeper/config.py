"""The sweeper's config, stored as ``hydra/sweeper: optuna`` (the old hydra-optuna-sweeper's keys).

A search config (``conf/hparams_search/*.yaml``) selects it with
``defaults: [override /hydra/sweeper: optuna]`` and sets the keys below under ``hydra.sweeper``.
"""

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

# hydra/sweeper/sampler=<name> and hydra/sweeper/pruner=<name> pick one of these; every key is
# an argument of the Optuna class (hydra.sweeper.sampler.seed=0, hydra.sweeper.pruner.upper=1.0;
# a key not listed: +hydra.sweeper.pruner.<key>=<value>).
SAMPLERS: dict[str, dict[str, Any]] = {
    "tpe": {"_target_": "optuna.samplers.TPESampler", "seed": None, "n_startup_trials": 10},
    "random": {"_target_": "optuna.samplers.RandomSampler", "seed": None},
    "grid": {"_target_": "optuna.samplers.GridSampler", "seed": None},  # params: choice/range
    "gp": {"_target_": "optuna.samplers.GPSampler", "seed": None, "n_startup_trials": 10},
    "cmaes": {"_target_": "optuna.samplers.CmaEsSampler", "seed": None},
    "qmc": {"_target_": "optuna.samplers.QMCSampler", "seed": None},
    "nsgaii": {"_target_": "optuna.samplers.NSGAIISampler", "seed": None},
}
PRUNERS: dict[str, dict[str, Any]] = {
    # prune when the trial's value is worse than the median of earlier trials at the same epoch
    "median": {
        "_target_": "optuna.pruners.MedianPruner",
        "n_startup_trials": 5,  # trials that always run to the end
        "n_warmup_steps": 0,  # epochs before a trial can be pruned
        "interval_steps": 1,
    },
    "percentile": {
        "_target_": "optuna.pruners.PercentilePruner",
        "percentile": 25.0,
        "n_startup_trials": 5,
        "n_warmup_steps": 0,
    },
    "hyperband": {
        "_target_": "optuna.pruners.HyperbandPruner",
        "min_resource": 1,
        "max_resource": "auto",
        "reduction_factor": 3,
    },
    "successive_halving": {
        "_target_": "optuna.pruners.SuccessiveHalvingPruner",
        "min_resource": "auto",
        "reduction_factor": 4,
    },
    # prune when the value leaves [lower, upper] (or is NaN)
    "threshold": {"_target_": "optuna.pruners.ThresholdPruner", "lower": None, "upper": None},
    "nop": {"_target_": "optuna.pruners.NopPruner"},  # no pruning
}


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.rnnlab_optuna_sweeper.sweeper.OptunaSweeper"
    _recursive_: bool = (
        False  # the sweeper builds the sampler (GridSampler needs params) and pruner
    )
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "median"}])

    # Trials the study runs in all, counted across resumed and concurrent searches of the same
    # study (a trial interrupted mid-run is failed and run again: it does not count).
    n_trials: int = 20
    # Trials launched together, in parallel under hydra/launcher=joblib; null: the launcher's
    # n_jobs (joblib), or 1.
    n_jobs: int | None = None
    # minimize | maximize; null: from monitor.mode (min -> minimize).
    direction: str | None = None
    # Any Optuna storage URL (sqlite:///..., postgresql://user:pw@host/db,
    # mysql+pymysql://user:pw@host/db); null: sqlite:///<hydra.sweep.dir>/optuna.db.
    storage: str | None = None
    # null: the hparams_search choice (e.g. dense_optuna), else "rnnlab".
    study_name: str | None = None
    # hydra/sweeper/sampler=tpe|random|grid|gp|cmaes|qmc|nsgaii, or any optuna.samplers
    # class by _target_ (GridSampler gets its search space from params).
    sampler: Any = MISSING
    # hydra/sweeper/pruner=median|percentile|hyperband|successive_halving|threshold|nop: judged
    # on monitor.metric after every validation epoch; null: no pruning.
    pruner: Any = MISSING
    # key: search space in Hydra's override syntax, e.g. optimizer.lr: tag(log, interval(1e-4,
    # 1e-2)), model.hidden_size: choice(64, 128), model.num_layers: range(1, 4), or a fixed
    # value. Search-space overrides on the command line join these or replace them.
    params: dict[str, Any] | None = None


store = ConfigStore.instance()
store.store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf, provider="rnnlab")
for name, node in SAMPLERS.items():
    store.store(group="hydra/sweeper/sampler", name=name, node=node, provider="rnnlab")
for name, node in PRUNERS.items():
    store.store(group="hydra/sweeper/pruner", name=name, node=node, provider="rnnlab")
