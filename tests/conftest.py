"""Shared helpers: real Hydra composition and real subprocess runs of the entrypoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from rnnlab.config import CONFIG_DIR
from tests import forked_entrypoints
from tests.data_makers import tiny_data_overrides

REPO = Path(__file__).resolve().parents[1]
# Console script -> the function it calls (pyproject.toml's [project.scripts]).
CONSOLE_SCRIPTS = {
    entry.name: entry.value
    for entry in entry_points(group="console_scripts")
    if entry.value.startswith("rnnlab.")
}
# How long a test waits for a subprocess or an event before calling it hung. Tests wait on events
# (a process ending, a file appearing), never on elapsed time, so this limit only matters when
# something hangs: it is generous so a loaded machine never fails a test.
PATIENCE_S = 1800.0

# A run that finishes in seconds: tiny core, one epoch (TINY_RUN), on little data. TINY is that run
# on moving digits (small canvas, few sequences); tiny_data_overrides gives the data part for every
# source. Sequences keep the default 20 frames, so task=next_frame keeps its default 10 -> 10.
BRIEFLY = ["trainer.max_epochs=1", "trainer.log_every_n_steps=1", "~callbacks.progress_bar"]
TINY_RUN = ["model.hidden_size=16", *BRIEFLY]
TINY = [*tiny_data_overrides("moving_digits"), *TINY_RUN]
# The same for convolutional cores (model=conv_*): one small layer over 2x2 patches.
TINY_CONV_RUN = ["model.hidden_channels=[4]", "model.kernel_size=3", "model.patch_size=2", *BRIEFLY]


@pytest.fixture
def compose_config() -> Iterator[Callable[..., DictConfig]]:
    """Compose ``conf/<config_name>.yaml`` with overrides, as the entrypoint would."""

    def _compose(overrides: Sequence[str] = (), config_name: str = "train") -> DictConfig:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name, overrides=list(overrides), return_hydra_config=True)

    yield _compose


# Environment variables a forked run can take on at its start (forked_entrypoints): read while
# running, not at interpreter start or import. A run whose environment differs from the test
# process's in anything else (PYTHONPATH, thread counts, PYTHONWARNINGS other than "ignore", ...)
# starts a new interpreter.
FORKABLE_ENV = {"COLUMNS": None, "PYTHONWARNINGS": "ignore"}


def forkable(env: dict[str, str]) -> bool:
    """Whether a run with environment ``env`` can be forked from this process's server."""
    changed = {key for key in {*env, *os.environ} if env.get(key) != os.environ.get(key)}
    return all(key in FORKABLE_ENV and FORKABLE_ENV[key] in (None, env.get(key)) for key in changed)


def _program(command: list[str]) -> str | None:
    """What a forked process runs for ``command`` (a module or an entry point), or None."""
    if command[:2] == [sys.executable, "-m"] and command[2].startswith("rnnlab."):
        return command[2]
    if Path(command[0]).parent == Path(sys.executable).parent:
        return CONSOLE_SCRIPTS.get(Path(command[0]).name)
    return None


def _run(
    command: list[str], cwd: Path, env: dict[str, str] | None, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run ``command``: forked from the preloaded server when it can be, else a new interpreter."""
    full_env = {**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200", **(env or {})}
    program = _program(command)
    if program is not None and forkable(full_env):
        argv = command if ":" in program else command[2:]  # as sys.argv: script or module first
        return forked_entrypoints.run(program, argv, command, cwd, full_env, timeout)
    return subprocess.run(
        command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def run_cli(
    module: str,
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = PATIENCE_S,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <module> <args>`` in a subprocess; return it with its captured output."""
    return _run([sys.executable, "-m", module, *args], cwd, env, timeout)


def run_script(
    name: str,
    args: Sequence[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = PATIENCE_S,
) -> subprocess.CompletedProcess[str]:
    """Run an installed console script (``rnnlab-train``, ``rnnlab-resume``, ...) by name."""
    return _run([str(Path(sys.executable).parent / name), *args], cwd, env, timeout)


@pytest.fixture
def train_run(tmp_path: Path) -> Callable[..., tuple[subprocess.CompletedProcess[str], Path]]:
    """Run ``rnnlab-train`` in a subprocess with its run directory under ``tmp_path``."""
    counter = iter(range(1000))

    def _run(
        args: Sequence[str], env: dict[str, str] | None = None, check: bool = True
    ) -> tuple[subprocess.CompletedProcess[str], Path]:
        run_dir = tmp_path / f"run{next(counter)}"
        result = run_cli("rnnlab.train", [*args, f"hydra.run.dir={run_dir}"], tmp_path, env)
        if check and result.returncode != 0:
            raise AssertionError(
                f"rnnlab-train failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                f"{result.stderr[-5000:]}"
            )
        return result, run_dir

    return _run


@pytest.fixture(scope="session")
def sweep_all_cells(tmp_path_factory) -> Path:
    """One real multirun of every cell x task (6 tiny runs in one process); its sweep folder."""
    root = tmp_path_factory.mktemp("sweep_all_cells")
    sweep = root / "sweep"
    result = run_cli(
        "rnnlab.train",
        ["-m", "model=rnn,gru,lstm", "task=classify,next_frame", *TINY, f"hydra.sweep.dir={sweep}"],
        root,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return sweep


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One plain run of TINY (task=next_frame): its output and its directory.

    Tests that use it carry ``xdist_group("tiny_run")`` so that one worker makes it once.
    """
    run_dir = tmp_path_factory.mktemp("tiny_run") / "run"
    result = run_cli("rnnlab.train", [*TINY, f"hydra.run.dir={run_dir}"], run_dir.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, run_dir


@pytest.fixture(scope="session")
def classify_run(tmp_path_factory) -> Path:
    """One tiny ``task=classify`` run (its checkpoints read by rnnlab-eval tests); its directory.

    Tests that use it carry ``xdist_group("classify_run")`` so that one worker makes it once.
    """
    run_dir = tmp_path_factory.mktemp("classify_run")
    result = run_cli("rnnlab.train", [*TINY, "task=classify", f"hydra.run.dir={run_dir}"], run_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def sweep_runs(sweep: Path) -> dict[tuple[str, str], Path]:
    """``(model, task) -> run directory`` of a sweep's runs."""
    runs = {}
    for run in sorted(p for p in sweep.iterdir() if p.is_dir() and p.name.isdigit()):
        choices = read_json(run / "run.json")["choices"]
        runs[(choices["model"], choices["task"])] = run
    return runs


def read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())
