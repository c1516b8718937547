"""``rnnlab-study``: a fair comparison in one command, through the real entrypoint on tiny data.

A study of 2 variants x 2 trials x 2 seeds runs to its end; the same study, stopped with SIGTERM
once its first re-run has finished and then resumed with the same command, must end the same way
(slow: about twice the subprocesses). The tests below read what each left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest

from tests.conftest import PATIENCE_S, TINY, read_json, run_script

optuna.logging.set_verbosity(optuna.logging.WARNING)

VARIANTS = ("rnn", "gru")
SEEDS = (1, 2)  # the tuning seed is the config's 42
STUDY = ["model=rnn,gru", "model.param_budget=20000", *TINY, "--trials", "2", "--seeds", "2"]


@dataclass
class Stopped:
    directory: Path
    first: str  # output until the study stopped
    first_code: int
    states_at_stop: dict[str, list[optuna.trial.TrialState]]
    first_rerun: dict  # run.json of the re-run that had finished at the stop
    compared_at_stop: bool
    second: subprocess.CompletedProcess[str]  # the same command, resumed

    @property
    def output(self) -> str:
        """What the command that finished the study printed."""
        return self.second.stdout


@dataclass
class Finished:
    directory: Path
    output: str  # what the study printed, from its start to its end


def study_trials(directory: Path, variant: str) -> list[optuna.trial.FrozenTrial]:
    storage = f"sqlite:///{directory / 'tune' / variant / 'optuna.db'}"
    return optuna.load_study(study_name="budget_optuna", storage=storage).trials


@pytest.fixture(scope="session")
def stopped_study(tmp_path_factory) -> Stopped:
    root = tmp_path_factory.mktemp("study")
    directory = root / "cells"
    command = [str(Path(sys.executable).parent / "rnnlab-study"), *STUDY, "--dir", str(directory)]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    first_rerun = directory / "final" / "rnn" / "seed1"
    lines = []
    with subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        watchdog = threading.Timer(PATIENCE_S, process.kill)  # only if it hangs
        watchdog.start()
        for line in process.stdout:
            lines.append(line)
            if line.startswith(f"run directory: {first_rerun}"):  # the first re-run finished
                process.send_signal(signal.SIGTERM)
        watchdog.cancel()
    states = {v: [t.state for t in study_trials(directory, v)] for v in VARIANTS}
    rerun = read_json(first_rerun / "run.json")
    compared = (directory / "comparison.md").exists()
    second = run_script("rnnlab-study", [*STUDY, "--dir", str(directory)], root)
    assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
    code = process.returncode
    return Stopped(directory, "".join(lines), code, states, rerun, compared, second)


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory) -> Finished:
    root = tmp_path_factory.mktemp("study_uninterrupted")
    directory = root / "cells"
    result = run_script("rnnlab-study", [*STUDY, "--dir", str(directory)], root)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return Finished(directory, result.stdout)


@pytest.fixture(params=["finished", pytest.param("stopped", marks=pytest.mark.slow)])
def study(request) -> Finished | Stopped:
    """The study run to its end in one go, and (slow) the one stopped and resumed."""
    return request.getfixturevalue(f"{request.param}_study")


@pytest.mark.slow
@pytest.mark.xdist_group("study")
def test_sigterm_stops_the_study_and_says_how_to_resume(stopped_study):
    assert stopped_study.first_code == 128 + signal.SIGTERM, stopped_study.first[-3000:]
    assert "[study] stopped by SIGTERM" in stopped_study.first
    resume = f"rnnlab-study {' '.join(STUDY[:2])}"
    assert resume in stopped_study.first and f"--dir {stopped_study.directory}" in (
        stopped_study.first
    )
    assert not stopped_study.compared_at_stop


@pytest.mark.xdist_group("study")
def test_every_variant_gets_the_same_trials_on_the_validation_split(study):
    complete = optuna.trial.TrialState.COMPLETE
    for variant in VARIANTS:
        trials = study_trials(study.directory, variant)
        assert [t.state for t in trials] == [complete, complete]
        for trial in trials:
            record = read_json(Path(trial.user_attrs["run_dir"]) / "run.json")
            assert record["choices"]["model"] == variant
            assert record["config"]["seed"] == 42 and record["config"]["test"] is False
            assert not any(name.startswith("test/") for name in record["metrics"]["final"])
            assert record["param_budget"]["budget"] == 20000


@pytest.mark.xdist_group("study")
def test_each_best_configuration_is_rerun_with_fresh_seeds(study):
    tuned = read_json(study.directory / "study.json")["tuned"]
    for variant in VARIANTS:
        best = tuned[variant]["best_params"]
        for seed in SEEDS:
            run_dir = study.directory / "final" / variant / f"seed{seed}"
            record = read_json(run_dir / "run.json")
            assert record["status"] == "completed"
            assert record["config"]["seed"] == seed and record["choices"]["model"] == variant
            assert record["config"]["optimizer"]["lr"] == best["optimizer.lr"]
            assert record["config"]["model"]["num_layers"] == best["model.num_layers"]
            assert "test/loss" in record["metrics"]["final"]


@pytest.mark.xdist_group("study")
def test_the_study_ends_with_the_comparison_of_the_reruns(study):
    markdown = study.directory / "comparison.md"
    text = markdown.read_text()
    assert "8 runs" not in text and "4 runs: 4 completed" in text
    assert "| rnn | 2 |" in text and "| gru | 2 |" in text
    study_lines = [line for line in study.output.splitlines() if line.startswith("[study]")]
    assert study_lines[-1] == (
        f"[study] done: the comparison (table, differences, verdict) is in {markdown}"
    )
    for phase in ("phase 1/3 tune model=rnn", "phase 2/3 re-run", "phase 3/3 compare"):
        assert any(phase in line for line in study_lines), phase


@pytest.mark.slow
@pytest.mark.xdist_group("study")
def test_a_resumed_study_keeps_finished_trials_and_runs(stopped_study):
    output = stopped_study.second.stdout
    assert "[study] resuming study of model (rnn, gru)" in output
    assert output.count("resumed with 2 of 2 trials done") == 2  # no trial ran again
    for variant in VARIANTS:
        states = [t.state for t in study_trials(stopped_study.directory, variant)]
        assert states == stopped_study.states_at_stop[variant]
    first = stopped_study.directory / "final" / "rnn" / "seed1"
    assert f"resume=true: {first} holds a completed run; skipping it." in output
    assert read_json(first / "run.json") == stopped_study.first_rerun


def test_a_different_study_in_the_same_folder_is_refused(tmp_path):
    directory = tmp_path / "cells"
    directory.mkdir()
    spec = {"spec": {"key": "model"}, "command": "rnnlab-study model=rnn,lstm --dir cells"}
    (directory / "study.json").write_text(json.dumps(spec))
    result = run_script("rnnlab-study", [*STUDY, "--dir", str(directory)], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{directory} holds another study (variants: None there, ['rnn', 'gru'] now" in (
        result.stderr
    )
    assert "rnnlab-study model=rnn,lstm --dir cells" in result.stderr
    assert not (directory / "tune").exists()


BAD_STUDIES = [
    ("no_variants", [*TINY], ["needs one override that lists the variants"]),
    (
        "two_lists",
        ["model=rnn,gru", "optimizer.lr=0.1,0.01"],
        ["model=rnn,gru and optimizer.lr=0.1,0.01 both list several values"],
    ),
    ("range", ["model.num_layers=range(1,3)"], ["model.num_layers=range(1,3)", "key=a,b,c"]),
    ("sets_trials", ["model=rnn,gru", "hydra.sweeper.n_trials=5"], ["use --trials N"]),
    ("one_seed", ["model=rnn,gru", "--seeds", "1"], ["--seeds 1", "at least 2"]),
    ("tuning_seed", ["model=rnn,gru", "--seeds", "41,42"], ["includes seed 42"]),
    ("bad_variant", ["model=rnn,gruu"], ["model=gruu is not a choice", "lstm"]),
    ("bad_value", ["model=rnn,gru", "model.param_budget=0"], ["model.param_budget=0 is not"]),
    (
        "searched_width",
        ["model=rnn,gru", "model.param_budget=20000", "--search", "dense_optuna"],
        ["dense_optuna tunes model.hidden_size, but model.param_budget=20000 sets it"],
    ),
    (
        "searched_key_missing",
        ["model=lstm,conv_lstm"],
        ["budget_optuna tunes model.dropout, which model=conv_lstm does not have", "lr_optuna"],
    ),
]


@pytest.mark.parametrize(
    ("args", "fragments"), [c[1:] for c in BAD_STUDIES], ids=[c[0] for c in BAD_STUDIES]
)
def test_bad_study_input_fails_in_one_paragraph_before_anything_runs(tmp_path, args, fragments):
    result = run_script("rnnlab-study", [*args, "--dir", str(tmp_path / "s")], tmp_path)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert not (tmp_path / "s").exists()
