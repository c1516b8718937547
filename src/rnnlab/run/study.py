"""The Optuna study a search keeps, and how a training run learns which trial it is (no torch).

The sweeper (``hydra_plugins.rnnlab_optuna_sweeper``) asks Optuna for a trial, then launches the
run with three environment variables (set by Hydra's ``hydra.job.env_set`` for that job only, so
they also reach joblib's worker processes): the storage URL, the study name and the trial number.
The run opens the same storage to report its per-epoch validation metric and to ask the pruner.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

ENV_STORAGE = "RNNLAB_OPTUNA_STORAGE"
ENV_STUDY = "RNNLAB_OPTUNA_STUDY"
ENV_TRIAL = "RNNLAB_OPTUNA_TRIAL"
STUDY_FILE = "optuna.db"
SQLITE_TIMEOUT_S = 60  # several processes write one sqlite file: wait for its lock, don't fail


def default_storage_url(sweep_dir: str | Path) -> str:
    """``sqlite:////abs/<sweep dir>/optuna.db``: the study file of a search, in its sweep dir."""
    return f"sqlite:///{(Path(sweep_dir) / STUDY_FILE).resolve()}"


def open_storage(url: str) -> optuna.storages.BaseStorage | str:
    """The storage at ``url``; sqlite files wait up to a minute for a lock held by another
    process (two searches, or a trial reporting while the sweeper writes). Other URLs
    (``postgresql://``, ``mysql+pymysql://``, ...) go to Optuna as they are."""
    import optuna

    if not url.startswith(("sqlite", "postgresql", "mysql", "oracle", "mssql")):
        return url  # e.g. a journal file or redis URL: Optuna knows it
    engine_kwargs = (
        {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if url.startswith("sqlite") else {}
    )
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
        except Exception:  # two processes creating one new database: the loser retries
            if attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))
    raise AssertionError("unreachable")


def trial_env(storage_url: str, study_name: str, number: int) -> dict[str, str]:
    """The environment that tells a run it is trial ``number`` of a study."""
    return {ENV_STORAGE: storage_url, ENV_STUDY: study_name, ENV_TRIAL: str(number)}


def running_trial(
    environ: Mapping[str, str] | None = None, pruner: Any = None
) -> optuna.trial.Trial | None:
    """The running Optuna trial this process trains for, or ``None`` outside a search.

    ``pruner``: the study's pruner (Optuna keeps it with the study object, not in storage).
    """
    environ = os.environ if environ is None else environ
    if not all(key in environ for key in (ENV_STORAGE, ENV_STUDY, ENV_TRIAL)):
        return None
    import optuna

    study = optuna.load_study(
        study_name=environ[ENV_STUDY], storage=open_storage(environ[ENV_STORAGE]), pruner=pruner
    )
    number = int(environ[ENV_TRIAL])
    for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if frozen.number == number:
            # Optuna has no public way to rebuild a Trial from another process: its
            # constructor takes the storage's trial id (what study.ask() does itself).
            return optuna.trial.Trial(study, frozen._trial_id)
    return None
