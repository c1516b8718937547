"""The test suite's own machinery: what `make test` relies on to stay fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PATIENCE_S, REPO, forkable, run_cli

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


def test_a_forked_run_is_a_process_of_its_own_with_its_output_and_exit_code(tmp_path: Path) -> None:
    """Runs forked from the preloaded server report what a new interpreter would."""
    result = run_cli("rnnlab.train", ["model=nope"], tmp_path)
    assert result.returncode == 2
    assert "model=nope" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.args[:3] == [sys.executable, "-m", "rnnlab.train"]


def test_settings_read_at_interpreter_start_get_a_new_interpreter() -> None:
    """A run whose environment changes what Python or torch read at start is not forked."""
    import os

    assert forkable({**os.environ, "COLUMNS": "200", "PYTHONWARNINGS": "ignore"})
    for changed in (
        {"PYTHONPATH": str(REPO)},
        {"PYTHONWARNINGS": "default"},
        {"OMP_NUM_THREADS": "2"},
    ):
        assert not forkable({**os.environ, **changed}), changed
