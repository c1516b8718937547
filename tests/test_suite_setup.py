"""The test suite's own machinery: what `make test` relies on to stay fast."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests import forked_entrypoints
from tests.conftest import PATIENCE_S, REPO, forkable

GROUPED = """
import os, pytest

@pytest.mark.xdist_group("shared")
@pytest.mark.parametrize("case", [1, 2, 3])
def test_grouped(case):
    print("worker", os.environ["PYTEST_XDIST_WORKER"])

def test_free_1(): pass
def test_free_2(): pass
def test_free_3(): pass
"""


def test_xdist_group_keeps_marked_tests_on_one_worker(tmp_path: Path) -> None:
    """`make test` builds a costly shared fixture once only if its xdist_group stays together."""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-v",
            "-p",
            "no:cacheprovider",
            "test_grouped.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    workers = {
        line.split()[0]
        for line in result.stdout.splitlines()
        if "PASSED" in line and "grouped[" in line
    }
    assert len(workers) == 1, f"the group ran on {sorted(workers)}:\n{result.stdout[-3000:]}"


def test_a_forked_run_reports_its_own_exit_code_output_and_directory(tmp_path: Path) -> None:
    """A run forked from the preloaded server reports what a new interpreter would."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    command = [sys.executable, "-m", "rnnlab.train", "model=nope"]
    refused = forked_entrypoints.run(
        "rnnlab.train", command[2:], command, tmp_path, env, PATIENCE_S
    )
    assert refused.returncode == 2
    assert "model=nope" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert refused.args == command
    script = [str(Path(sys.executable).parent / "rnnlab-train"), "--help"]
    helped = forked_entrypoints.run(
        "rnnlab.cli.train:main", script, script, tmp_path, env, PATIENCE_S
    )
    assert helped.returncode == 0
    assert "== Configuration groups ==" in helped.stdout
    assert not any(tmp_path.iterdir())  # output was captured, not left in the run's directory


def test_settings_read_at_interpreter_start_get_a_new_interpreter() -> None:
    """A run whose environment changes what Python or torch read at start is not forked."""
    assert forkable({**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "ignore"})
    for changed in (
        {"PYTHONPATH": str(REPO)},
        {"PYTHONWARNINGS": "default"},
        {"OMP_NUM_THREADS": "2"},
    ):
        assert not forkable({**os.environ, **changed}), changed
