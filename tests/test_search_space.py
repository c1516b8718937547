"""The Optuna sweeper's pieces without training: search-space parsing, the search configs, the
thread count of parallel jobs."""

from __future__ import annotations

import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hydra_plugins.rnnlab_optuna_sweeper._search_space import SearchSpace
from rnnlab.errors import ConfigError
from rnnlab.run.threads import parallel_jobs


def test_override_syntax_becomes_optuna_distributions():
    space = SearchSpace.from_overrides(
        [
            "optimizer.lr=tag(log, interval(1e-4, 1e-2))",
            "model.dropout=interval(0.0, 0.5)",
            "model.hidden_size=choice(64, 128)",
            "model.num_layers=range(1, 3)",
            "data.batch_size=interval(8, 32)",
            "model=choice(gru, lstm)",
            "trainer.max_epochs=3",
            "~callbacks.progress_bar",
        ]
    )
    d = space.distributions
    assert d["optimizer.lr"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert d["model.dropout"] == FloatDistribution(0.0, 0.5)
    assert d["model.hidden_size"] == CategoricalDistribution([64, 128])
    assert d["model.num_layers"] == IntDistribution(1, 3)  # both ends, as the old plugin
    assert d["data.batch_size"] == FloatDistribution(8, 32)  # Hydra's interval is float: range()
    assert d["model"] == CategoricalDistribution(["gru", "lstm"])
    assert space.fixed == {
        "trainer.max_epochs": "trainer.max_epochs=3",
        "callbacks.progress_bar": "~callbacks.progress_bar",
    }
    assert space.trial_overrides({"optimizer.lr": 0.001, "model": "gru"}) == [
        "trainer.max_epochs=3",
        "~callbacks.progress_bar",
        "optimizer.lr=0.001",
        "model=gru",
    ]


def test_command_line_joins_or_replaces_the_configs_params():
    config = ["optimizer.lr=interval(0.001, 0.1)", "model.hidden_size=choice(64, 128)"]
    space = SearchSpace.from_overrides([*config, "model.hidden_size=32", "seed=choice(1, 2)"])
    assert set(space.distributions) == {"optimizer.lr", "seed"}
    assert space.fixed == {"model.hidden_size": "model.hidden_size=32"}
    space = SearchSpace.from_overrides([*config, "model.hidden_size=choice(8, 16)"])
    assert space.distributions["model.hidden_size"] == CategoricalDistribution([8, 16])


def test_grid_needs_discrete_values():
    assert SearchSpace.from_overrides(["a=choice(1, 2)", "b=range(0, 4, 2)"]).grid() == {
        "a": [1, 2],
        "b": [0, 2, 4],
    }
    with pytest.raises(ConfigError, match="GridSampler"):
        SearchSpace.from_overrides(["a=interval(0.0, 1.0)"]).grid()


def test_dense_optuna_search_config(compose_config):
    cfg = compose_config(["hparams_search=dense_optuna"])
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_ == "hydra_plugins.rnnlab_optuna_sweeper.sweeper.OptunaSweeper"
    assert sweeper.study_name == "dense_optuna" and sweeper.direction is None
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler"
    assert sweeper.pruner._target_ == "optuna.pruners.MedianPruner"
    assert set(sweeper.params) == {
        "optimizer.lr",
        "model.hidden_size",
        "model.num_layers",
        "model.dropout",
    }
    for key, value in sweeper.params.items():  # every searched key exists in the run config
        assert OmegaConf.select(cfg, key) is not None, key
        assert SearchSpace.from_overrides([f"{key}={value}"]).distributions
    cfg = compose_config(["hparams_search=dense_optuna", "hydra/sweeper/pruner=nop"])
    assert cfg.hydra.sweeper.pruner._target_ == "optuna.pruners.NopPruner"


def _hydra(launcher_jobs=None, sweeper_jobs=None, mode=RunMode.MULTIRUN):
    launcher = {} if launcher_jobs is None else {"n_jobs": launcher_jobs}
    return {"mode": mode, "launcher": launcher, "sweeper": {"n_jobs": sweeper_jobs}}


@pytest.mark.parametrize(
    ("hydra_cfg", "jobs"),
    [
        (None, 1),
        (_hydra(), 1),  # basic launcher: one job after another
        (_hydra(2), 2),
        (_hydra(-1), 8),  # joblib: one job per core
        (_hydra(-2), 7),
        (_hydra(4, 2), 2),  # an Optuna search launches 2 at a time
        (_hydra(4, mode=RunMode.RUN), 1),
    ],
)
def test_parallel_jobs(hydra_cfg, jobs):
    assert parallel_jobs(hydra_cfg, cores=8) == jobs


def _sweeper(**keys):
    from hydra_plugins.rnnlab_optuna_sweeper.sweeper import OptunaSweeper

    settings = dict(
        n_trials=2,
        n_jobs=None,
        direction=None,
        storage=None,
        study_name=None,
        sampler=None,
        pruner=None,
        params=None,
    )
    sweeper = OptunaSweeper(**{**settings, **keys})
    sweeper.config = OmegaConf.create(
        {
            "monitor": {"metric": "val/acc", "mode": "max"},
            "hydra": {"runtime": {"choices": {"hparams_search": None}}, "launcher": {}},
        }
    )
    return sweeper


def test_direction_follows_monitor_mode_unless_given():
    assert _sweeper()._direction() == "maximize"
    assert _sweeper(direction="minimize")._direction() == "minimize"
    assert _sweeper(direction="min")._direction() == "minimize"
    with pytest.raises(ConfigError, match="direction"):
        _sweeper(direction="down")._direction()
    assert _sweeper()._study_name() == "rnnlab"
    assert _sweeper()._batch_size() == 1


def test_a_search_with_nothing_to_search_says_how_to_give_params():
    with pytest.raises(ConfigError, match="nothing to search"):
        _sweeper(params={"trainer.max_epochs": 3})._space(["seed=1"])
