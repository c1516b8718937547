"""``hydra/sweeper=optuna``: an Optuna 5 search over rnnlab runs, resumable, with pruning.

Each batch of trials (``n_jobs`` at once) is asked from the study and launched through Hydra's
launcher (basic: one after another in this process; joblib: side by side). Each run learns its
trial from three environment variables (:mod:`rnnlab.run.study`), reports its validation metric
after every epoch and may be pruned (:mod:`rnnlab.run.pruning`). The sweeper then tells the study
how the run ended: its returned metric (complete), ``TrialPruned`` (pruned) or any other
exception (failed, with the reason in the trial's ``failure`` attribute). Trial ``n`` runs in
``<hydra.sweep.dir>/<n>``, so resumed and concurrent searches of one study never share a folder.

Resuming: the study lives in its storage (``<sweep dir>/optuna.db`` by default). The same command
with the same ``hydra.sweep.dir`` loads it and runs trials until it holds ``n_trials``. A trial
that was running when its search stopped (SIGTERM/Ctrl-C here, or a killed process on this host,
found on resume) is marked failed with ``interrupted`` and its parameters are queued to run again
as a new trial; the interrupted one does not count toward ``n_trials``.
"""

from __future__ import annotations

import math
import os
import shlex
import socket
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.run.study import default_storage_url, open_storage, trial_env

if TYPE_CHECKING:
    import optuna

    from hydra_plugins.rnnlab_optuna_sweeper._search_space import SearchSpace

BEST_PARAMS = "best_params.yaml"
OWNER = "rnnlab_sweeper"  # user attr: {"host", "pid"} of the search process that runs a trial


def _say(message: str) -> None:
    print(f"[optuna] {message}", flush=True)


def _quoted(value: str) -> str:
    """``value`` as a quoted Hydra override value (URLs hold '=', '?', '@', ...)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class OptunaSweeper(Sweeper):
    """Hydra sweeper running an Optuna study; config keys in :mod:`.config`."""

    def __init__(
        self,
        n_trials: int,
        n_jobs: int | None,
        direction: str | None,
        storage: str | None,
        study_name: str | None,
        sampler: Any,
        pruner: Any,
        params: Any,
    ) -> None:
        self.n_trials = n_trials
        self.n_jobs = n_jobs
        self.direction = direction
        self.storage_url = storage
        self.study_name = study_name
        self.sampler_cfg = sampler
        self.pruner_cfg = pruner
        self.params = params or {}
        self.config: DictConfig | None = None
        self.launcher: Any = None
        self.hydra_context: HydraContext | None = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    # -- settings -------------------------------------------------------------------------------

    def _monitor(self) -> tuple[str, str]:
        monitor = self.config.get("monitor") or {}
        return str(monitor.get("metric", "value")), str(monitor.get("mode", "min"))

    def _direction(self) -> str:
        if self.direction is None:
            return "maximize" if self._monitor()[1] == "max" else "minimize"
        aliases = {"min": "minimize", "max": "maximize"}
        direction = aliases.get(str(self.direction), str(self.direction))
        if direction not in ("minimize", "maximize"):
            raise ConfigError(
                f"hydra.sweeper.direction={self.direction!r} is not valid: use minimize or "
                "maximize (or null: from monitor.mode)."
            )
        return direction

    def _study_name(self) -> str:
        if self.study_name:
            return str(self.study_name)
        choice = self.config.hydra.runtime.choices.get("hparams_search")
        return str(choice) if choice else "rnnlab"

    def _batch_size(self) -> int:
        if self.n_jobs:
            return max(1, int(self.n_jobs))
        launcher_jobs = self.config.hydra.launcher.get("n_jobs")
        if launcher_jobs is None:
            return 1
        jobs = int(launcher_jobs)  # joblib: -1 = one per core
        return jobs if jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + jobs)

    def _space(self, arguments: list[str]) -> SearchSpace:
        from hydra_plugins.rnnlab_optuna_sweeper._search_space import SearchSpace, format_value

        configured = [f"{key}={format_value(value)}" for key, value in self.params.items()]
        space = SearchSpace.from_overrides([*configured, *arguments])
        if not space.distributions:
            raise ConfigError(
                "The Optuna search has nothing to search: give hydra.sweeper.params (e.g. in "
                "conf/hparams_search/<name>.yaml) or a search override on the command line, "
                "e.g. 'optimizer.lr=tag(log, interval(1e-4, 1e-2))' or "
                "'model.hidden_size=choice(64,128)'."
            )
        return space

    def _sampler(self, space: SearchSpace) -> Any:
        from hydra.utils import instantiate

        if not self.sampler_cfg:
            return None
        target = str(self.sampler_cfg.get("_target_", ""))
        if target.endswith("GridSampler"):
            return instantiate(self.sampler_cfg, search_space=space.grid())
        return instantiate(self.sampler_cfg)

    def _pruner(self) -> Any:
        import optuna
        from hydra.utils import instantiate

        return instantiate(self.pruner_cfg) if self.pruner_cfg else optuna.pruners.NopPruner()

    # -- the search -----------------------------------------------------------------------------

    def sweep(self, arguments: list[str]) -> list[Any]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # the sweeper says what happens
        assert self.config is not None
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        url = str(self.storage_url) if self.storage_url else default_storage_url(sweep_dir)
        space = self._space(arguments)
        direction = self._direction()
        name = self._study_name()
        study = optuna.create_study(
            study_name=name,
            storage=open_storage(url),
            sampler=self._sampler(space),
            pruner=self._pruner(),
            direction=direction,
            load_if_exists=True,
        )
        if study.direction.name.lower() != direction:
            raise ConfigError(
                f"Study '{name}' in {url} was created to {study.direction.name.lower()}, not to "
                f"{direction}. Use another hydra.sweeper.study_name or hydra.sweep.dir."
            )
        n_trials = self.n_trials
        if isinstance(study.sampler, optuna.samplers.GridSampler):  # each grid point once
            n_trials = min(n_trials, math.prod(len(v) for v in space.grid().values()))
        self.n_trials = n_trials
        requeued = self._requeue_stale(study)
        self._header(study, url, space, sweep_dir, requeued)
        batch_size = self._batch_size()
        returns: list[Any] = []
        while (todo := self.n_trials - _counted(study)) > 0:
            trials = [study.ask() for _ in range(min(batch_size, todo))]
            jobs = [self._prepare(trial, space, sweep_dir, url, name) for trial in trials]
            try:
                results = self.launcher.launch(jobs, initial_job_idx=trials[0].number)
            except BaseException:  # SIGTERM/Ctrl-C: fail the trials that ran, queue them again
                for trial in trials:
                    _requeue(study, _frozen(study, trial.number), "its search was stopped")
                raise
            for trial, result in zip(trials, results, strict=True):
                self._tell(study, trial, result)
            returns.extend(results)
        self._summary(study, url, sweep_dir)
        return returns

    def _prepare(
        self, trial: optuna.trial.Trial, space: SearchSpace, sweep_dir: Path, url: str, name: str
    ) -> list[str]:
        """Draw the trial's parameters; its overrides (task ones, then Hydra ones)."""
        params = {key: _suggest(trial, key, dist) for key, dist in space.distributions.items()}
        overrides = space.trial_overrides(params)
        trial.set_user_attr("overrides", overrides)
        trial.set_user_attr("run_dir", str((sweep_dir / str(trial.number)).resolve()))
        trial.set_user_attr(OWNER, {"host": socket.gethostname(), "pid": os.getpid()})
        env = trial_env(url, name, trial.number)
        return [
            *overrides,
            f"hydra.sweep.subdir={trial.number}",
            *(f"+hydra.job.env_set.{key}={_quoted(value)}" for key, value in env.items()),
        ]

    def _tell(self, study: optuna.Study, trial: optuna.trial.Trial, result: Any) -> None:
        import optuna

        metric, _ = self._monitor()
        run_dir = trial.user_attrs.get("run_dir")
        params = _params_text(trial.params)
        if result.status == JobStatus.FAILED:
            # the job's exception, read without Hydra's "Error executing job" log line
            error = result._return_value
            if isinstance(error, optuna.TrialPruned):
                _tell(study, trial, state=optuna.trial.TrialState.PRUNED)
                frozen = _frozen(study, trial.number)
                last = frozen.last_step
                seen = (
                    f", {metric}={frozen.intermediate_values[last]:.5g}" if last is not None else ""
                )
                _say(f"trial {trial.number} pruned ({error}{seen}) {params}; {run_dir}")
                return
            if not isinstance(error, RnnlabError):  # a bug, not a bad value: show where
                traceback.print_exception(error, file=sys.stderr)
            reason = f"{type(error).__name__}: {error}"
            self._fail(study, trial, reason)
            _say(f"trial {trial.number} failed: {reason} {params}; {run_dir}")
            return
        value = result.return_value
        try:
            value = float(value)
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            reason = f"the run returned {metric}={value!r}, not a finite number"
            self._fail(study, trial, reason)
            _say(f"trial {trial.number} failed: {reason} {params}; {run_dir}")
            return
        _tell(study, trial, value)
        _say(f"trial {trial.number} complete: {metric}={value:.5g} {params}; {run_dir}")

    @staticmethod
    def _fail(study: optuna.Study, trial: optuna.trial.Trial, reason: str) -> None:
        import optuna

        trial.set_user_attr("failure", reason[:2000])
        _tell(study, trial, state=optuna.trial.TrialState.FAIL)

    def _requeue_stale(self, study: optuna.Study) -> int:
        """Fail and queue again the running trials of searches on this host that died."""
        import optuna

        stale = []
        for frozen in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            owner = frozen.user_attrs.get(OWNER) or {}
            if owner.get("host") == socket.gethostname() and not _pid_alive(int(owner["pid"])):
                stale.append(frozen)
        for frozen in stale:
            _requeue(
                study,
                frozen,
                f"its search (pid {frozen.user_attrs[OWNER]['pid']}) ended while it ran",
            )
        return len(stale)

    # -- what the user sees ---------------------------------------------------------------------

    def _header(
        self, study: optuna.Study, url: str, space: SearchSpace, sweep_dir: Path, requeued: int
    ) -> None:
        metric, _ = self._monitor()
        done = _counted(study)
        state = f"resumed with {done} of {self.n_trials} trials done" if done else "new"
        _say(f"study '{study.study_name}' ({state}) in {url}")
        if requeued:
            _say(f"{requeued} trial(s) interrupted mid-run were marked failed and queued again")
        _say(
            f"{study.direction.name.lower()} {metric}; {type(study.sampler).__name__}, "
            f"{type(study.pruner).__name__}; {self.n_trials} trials, {self._batch_size()} at a time"
        )
        for key, dist in space.distributions.items():
            _say(f"  {key}: {_describe(dist)}")
        _say(f"stopped? the same command with hydra.sweep.dir={sweep_dir} resumes it")

    def _summary(self, study: optuna.Study, url: str, sweep_dir: Path) -> None:
        import optuna

        metric, _ = self._monitor()
        counts = _counts(study)
        _say(
            f"study '{study.study_name}' done: {counts['complete']} complete, "
            f"{counts['pruned']} pruned, {counts['failed']} failed"
            + (f", {counts['interrupted']} interrupted (re-run)" if counts["interrupted"] else "")
            + (f", {counts['running']} still running elsewhere" if counts["running"] else "")
        )
        dashboard = f"optuna-dashboard {shlex.quote(url)}"
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if not complete:
            _say(f"see the trials: {dashboard}")
            failures = [
                f"trial {t.number}: {t.user_attrs['failure']}"
                for t in study.get_trials(deepcopy=False)
                if t.user_attrs.get("failure") and not t.user_attrs.get("interrupted")
            ]
            raise RnnlabError(
                f"No trial of study '{study.study_name}' completed, so there is no best one. "
                + (f"First failure: {failures[0]}. " if failures else "")
                + "Each trial's run.json says how it ended."
            )
        best = study.best_trial
        overrides = list(best.user_attrs.get("overrides", []))
        rerun = " ".join(["rnnlab-train", *(shlex.quote(o) for o in overrides)])
        record = {
            "study_name": study.study_name,
            "storage": url,
            "metric": metric,
            "direction": study.direction.name.lower(),
            "best_value": best.value,
            "best_trial": best.number,
            "best_run_dir": best.user_attrs.get("run_dir"),
            "best_params": dict(best.params),
            "overrides": overrides,
            "rerun": rerun,
            "dashboard": dashboard,
            "trials": dict(counts),
        }
        path = sweep_dir / BEST_PARAMS
        path.write_text(
            "# Best trial of an rnnlab Optuna search. Rerun it: rnnlab-train <overrides below>\n"
            + OmegaConf.to_yaml(OmegaConf.create(record))
        )
        where = best.user_attrs.get("run_dir")
        _say(f"best {metric} = {best.value:.6g} (trial {best.number}, {where})")
        _say(f"best params: {_params_text(best.params)}")
        _say(f"saved {path}; rerun the best trial with:")
        print(f"  {rerun}", flush=True)
        _say("open the study in optuna-dashboard (a web UI) with:")
        print(f"  {dashboard}", flush=True)


def _tell(study: optuna.Study, trial: Any, values: Any = None, state: Any = None) -> None:
    """``study.tell``; GridSampler calls ``study.stop()`` once every grid point was tried, which
    Optuna refuses outside ``optimize`` (the trial is stored all the same)."""
    try:
        study.tell(trial, values, state=state)
    except RuntimeError as error:
        if "Study.stop" not in str(error):
            raise


def _suggest(trial: optuna.trial.Trial, key: str, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(key, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(key, dist.low, dist.high, step=dist.step, log=dist.log)


def _frozen(study: optuna.Study, number: int) -> optuna.trial.FrozenTrial:
    trials = study.get_trials(deepcopy=False)
    return next(t for t in trials if t.number == number)


def _requeue(study: optuna.Study, frozen: optuna.trial.FrozenTrial, reason: str) -> None:
    """Mark a running trial failed (interrupted) and queue its parameters as a new trial."""
    import optuna

    if frozen.state != optuna.trial.TrialState.RUNNING:
        return
    storage = study._storage  # user attrs of a trial this process holds no Trial object for
    storage.set_trial_user_attr(frozen._trial_id, "failure", f"interrupted: {reason}")
    storage.set_trial_user_attr(frozen._trial_id, "interrupted", True)
    _tell(study, frozen.number, state=optuna.trial.TrialState.FAIL)
    if frozen.params:
        study.enqueue_trial(dict(frozen.params), user_attrs={"rerun_of": frozen.number})


def _counts(study: optuna.Study) -> Counter:
    import optuna

    states = optuna.trial.TrialState
    counts: Counter = Counter(complete=0, pruned=0, failed=0, interrupted=0, running=0)
    for trial in study.get_trials(deepcopy=False):
        if trial.state == states.COMPLETE:
            counts["complete"] += 1
        elif trial.state == states.PRUNED:
            counts["pruned"] += 1
        elif trial.state == states.FAIL:
            counts["interrupted" if trial.user_attrs.get("interrupted") else "failed"] += 1
        elif trial.state == states.RUNNING:
            counts["running"] += 1
    return counts


def _counted(study: optuna.Study) -> int:
    """Trials that count toward ``n_trials``: finished (not interrupted) or running."""
    counts = _counts(study)
    return counts["complete"] + counts["pruned"] + counts["failed"] + counts["running"]


def _params_text(params: dict[str, Any]) -> str:
    return " ".join(_param_text(key, value) for key, value in params.items())


def _param_text(key: str, value: Any) -> str:
    return f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"


def _describe(dist: Any) -> str:
    from optuna.distributions import CategoricalDistribution

    if isinstance(dist, CategoricalDistribution):
        return f"choice{tuple(dist.choices)}"
    kind = "int" if type(dist).__name__.startswith("Int") else "float"
    extra = " log" if dist.log else (f" step {dist.step}" if dist.step else "")
    return f"{kind} in [{dist.low}, {dist.high}]{extra}"
