"""Optuna searches through the real entrypoint (``rnnlab-train -m hydra/sweeper=optuna ...``) on
tiny data: pruned and failed trials that do not stop the search, best_params.yaml rerun, a search
killed mid-trial and resumed, two processes sharing one sqlite study, joblib with per-job threads,
optuna-dashboard reading a study over HTTP."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
import yaml

from tests.conftest import TINY, read_json, run_cli

optuna.logging.set_verbosity(optuna.logging.WARNING)
States = optuna.trial.TrialState

SEARCH = ["hydra/sweeper=optuna", *TINY]
LR = "optimizer.lr=tag(log, interval(0.001, 0.01))"


def search(sweep: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = run_cli(
        "rnnlab.train",
        ["-m", *SEARCH, *args, f"hydra.sweep.dir={sweep}"],
        sweep.parent,
        None,
        timeout,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-4000:]}"
    return result


def load(sweep: Path, name: str = "rnnlab") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{sweep / 'optuna.db'}")


def status(trial: optuna.trial.FrozenTrial) -> str:
    return read_json(Path(trial.user_attrs["run_dir"]) / "run.json")["status"]


def test_pruned_and_failed_trials_do_not_stop_the_search_and_best_params_rerun(tmp_path):
    # A grid over 4 points: dropout 1.5 fails validation (2 trials), lr 1000 blows the
    # classification loss far above the threshold at epoch 0 (pruned), lr 0.01 completes.
    sweep = tmp_path / "grid"
    result = search(
        sweep,
        "task=classify",
        "optimizer.lr=choice(0.01, 1000.0)",
        "model.dropout=choice(0.0, 1.5)",
        "hydra/sweeper/sampler=grid",
        "hydra/sweeper/pruner=threshold",
        "hydra.sweeper.pruner.upper=100",
        "hydra.sweeper.n_trials=10",  # capped to the 4 grid points
    )
    trials = {(t.params["optimizer.lr"], t.params["model.dropout"]): t for t in load(sweep).trials}
    assert len(trials) == 4
    for lr in (0.01, 1000.0):
        failed = trials[(lr, 1.5)]
        assert failed.state == States.FAIL
        assert "ConfigError: model.dropout=1.5" in failed.user_attrs["failure"]
        assert status(failed) == "failed"
    pruned = trials[(1000.0, 0.0)]
    assert pruned.state == States.PRUNED and list(pruned.intermediate_values) == [0]
    record = read_json(Path(pruned.user_attrs["run_dir"]) / "run.json")
    assert record["status"] == "pruned" and "pruned" in record["failure"]
    assert record["metrics"]["final"]["val/loss"] > 100
    best = trials[(0.01, 0.0)]
    assert best.state == States.COMPLETE and status(best) == "completed"
    assert "1 complete, 1 pruned, 2 failed" in result.stdout
    assert f"best val/loss = {best.value:.6g}" in result.stdout

    saved = yaml.safe_load((sweep / "best_params.yaml").read_text())
    assert saved["best_params"] == {"optimizer.lr": 0.01, "model.dropout": 0.0}
    assert saved["best_value"] == pytest.approx(best.value)
    assert saved["trials"]["pruned"] == 1 and saved["trials"]["failed"] == 2
    assert f"  {saved['rerun']}" in result.stdout.splitlines()
    assert f"optuna-dashboard sqlite:///{sweep.resolve() / 'optuna.db'}" in result.stdout
    # the saved overrides rerun the best trial as one run: same config, same result
    rerun_dir = tmp_path / "rerun"
    assert shlex.split(saved["rerun"])[1:] == saved["overrides"]
    rerun = run_cli("rnnlab.train", [*saved["overrides"], f"hydra.run.dir={rerun_dir}"], tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    again = read_json(rerun_dir / "run.json")
    original = read_json(Path(best.user_attrs["run_dir"]) / "run.json")
    assert again["config"]["optimizer"] == original["config"]["optimizer"]
    assert again["config"]["model"] == original["config"]["model"]
    assert again["metrics"]["best"]["value"] == pytest.approx(best.value, rel=1e-4)


def test_killed_search_resumes_keeping_complete_trials(tmp_path):
    sweep = tmp_path / "resume"
    args = [*SEARCH, "trainer.max_epochs=2", LR, "hydra.sweeper.n_trials=3"]
    command = [sys.executable, "-m", "rnnlab.train", "-m", *args, f"hydra.sweep.dir={sweep}"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as first:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and first.poll() is None:
            if (sweep / "optuna.db").exists():
                try:
                    running = load(sweep).get_trials(states=(States.RUNNING,))
                except Exception:  # the study is still being created
                    running = []
                if any(t.number == 1 for t in running):
                    break
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)  # a crash: no chance to tidy up
    before = {t.number: t for t in load(sweep).trials}
    assert before[0].state == States.COMPLETE and before[1].state == States.RUNNING

    result = search(sweep, "trainer.max_epochs=2", LR, "hydra.sweeper.n_trials=3")
    assert "resumed with 1 of 3 trials done" in result.stdout
    after = {t.number: t for t in load(sweep).trials}
    assert after[0].value == before[0].value and after[0].datetime_complete == (
        before[0].datetime_complete
    )
    assert after[1].state == States.FAIL and after[1].user_attrs["interrupted"]
    assert after[1].user_attrs["failure"].startswith("interrupted")
    rerun = after[2]  # the interrupted trial's parameters, run again in a folder of its own
    assert rerun.user_attrs["rerun_of"] == 1 and rerun.params == before[1].params
    assert [t.state for t in after.values()].count(States.COMPLETE) == 3 and len(after) == 4
    assert {Path(t.user_attrs["run_dir"]).name for t in after.values()} == {"0", "1", "2", "3"}
    assert status(after[0]) == "completed" and status(after[2]) == "completed"
    assert "3 complete, 0 pruned, 0 failed, 1 interrupted (re-run)" in result.stdout


def test_two_processes_share_one_sqlite_study(tmp_path):
    sweep = tmp_path / "shared"
    args = ["-m", *SEARCH, LR, "hydra.sweeper.n_trials=4", f"hydra.sweep.dir={sweep}"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "rnnlab.train", *args]
    processes = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    trials = load(sweep).trials
    # each process stops once the study holds 4 trials; both may ask in the same instant
    assert 4 <= len(trials) <= 5 and all(t.state == States.COMPLETE for t in trials)
    owners = {t.user_attrs["rnnlab_sweeper"]["pid"] for t in trials}
    assert owners == {p.pid for p in processes}
    run_dirs = [t.user_attrs["run_dir"] for t in trials]
    assert len(set(run_dirs)) == len(trials)
    assert all(read_json(Path(d) / "run.json")["status"] == "completed" for d in run_dirs)


JOBLIB = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]


def test_joblib_runs_trials_in_parallel_with_threads_per_job(tmp_path):
    cores = len(os.sched_getaffinity(0))
    per_job = max(1, cores // 2)
    sweep = tmp_path / "optuna_joblib"
    result = search(sweep, *JOBLIB, LR, "hydra.sweeper.n_trials=2")
    assert "2 trials, 2 at a time" in result.stdout
    trials = load(sweep).trials
    assert [t.state for t in trials] == [States.COMPLETE] * 2
    records = [read_json(Path(t.user_attrs["run_dir"]) / "run.json") for t in trials]
    assert [r["threads"] for r in records] == [per_job, per_job]


# slow: joblib's worker processes import torch again; the search above keeps joblib in make test
@pytest.mark.slow
def test_joblib_runs_a_plain_grid_with_the_threads_it_sets(tmp_path):
    # Hydra's basic sweeper through joblib, threads set explicitly
    grid = tmp_path / "grid_joblib"
    result = run_cli(
        "rnnlab.train",
        ["-m", *TINY, *JOBLIB, "seed=1,2", "threads=1", f"hydra.sweep.dir={grid}"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert [read_json(grid / n / "run.json")["threads"] for n in ("0", "1")] == [1, 1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_optuna_dashboard_serves_the_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="tiny", storage=url)
    for lr in (0.1, 0.01, 0.001):
        trial = study.ask()
        study.tell(trial, trial.suggest_float("optimizer.lr", 1e-4, 1.0, log=True) + lr)
    port = _free_port()
    dashboard = Path(sys.executable).parent / "optuna-dashboard"
    command = [str(dashboard), url, "--host", "127.0.0.1", "--port", str(port), "--quiet"]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as server:
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/api/studies", timeout=5) as response:
                        studies = json.loads(response.read())["study_summaries"]
                    break
                except OSError:
                    assert server.poll() is None, server.stderr.read()
                    assert time.monotonic() < deadline, "optuna-dashboard did not answer"
                    time.sleep(0.3)
            assert [s["study_name"] for s in studies] == ["tiny"]
            study_id = studies[0]["study_id"]
            with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=5) as response:
                detail = json.loads(response.read())
            assert len(detail["trials"]) == 3
            assert detail["best_trials"][0]["values"] == [study.best_value]
        finally:
            server.terminate()
            server.wait(timeout=30)
