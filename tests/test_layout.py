"""The package's rooms and the one-way arrows between them (README: where things live)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "rnnlab"

# room -> rnnlab rooms it must not import
FORBIDDEN = {
    "models": ("config", "data", "tasks", "run", "cli"),
    "data": ("models", "tasks", "run", "cli"),
    "tasks": ("run", "cli"),
    "run": ("models", "data", "tasks", "cli"),
    "config": ("models", "data", "tasks", "run", "cli"),
    "report": ("models", "data", "tasks", "config", "cli"),  # reads run records only
}


def rnnlab_imports(path: Path) -> set[str]:
    """The ``rnnlab.<room>`` modules a source file imports (at any depth in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in names if name.startswith("rnnlab.")}
    return found


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_rooms_import_only_downstream(room):
    offending = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        for name in rnnlab_imports(path):
            if name.split(".")[1] in FORBIDDEN[room]:
                offending.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offending


def test_models_import_no_lightning():
    offending = []
    for path in sorted((PACKAGE / "models").rglob("*.py")):
        text = path.read_text()
        if "import lightning" in text or "from lightning" in text:
            offending.append(str(path.relative_to(PACKAGE)))
    assert not offending


def test_nothing_outside_cli_imports_cli():
    shims = {PACKAGE / "train.py"}  # ``python -m rnnlab.train`` is documented
    offending = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if (PACKAGE / "cli") not in path.parents
        and path not in shims
        and any(name.startswith("rnnlab.cli") for name in rnnlab_imports(path))
    ]
    assert not offending


HEAVY = ("torch", "lightning")


def imported_modules(args: list[str]) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -X importtime <args>``; return it and every module it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True
    )
    names = {
        line.rpartition("|")[2].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return result, names


def heavy(names: set[str]) -> list[str]:
    return sorted(name for name in names if name.split(".")[0] in HEAVY)


def test_train_help_imports_neither_torch_nor_lightning():
    result, names = imported_modules(["-m", "rnnlab.train", "--help"])
    assert result.returncode == 0, result.stderr[-2000:]
    groups = [path.name for path in (PACKAGE / "conf").iterdir() if path.is_dir()]
    listed = {line.partition(":")[0] for line in result.stdout.splitlines()}
    assert sorted(set(groups) - {"hydra"} - listed) == []  # every group with its choices
    assert "rnnlab.cli.train" in names
    assert heavy(names) == []


def test_eval_help_imports_neither_torch_nor_lightning():
    result, names = imported_modules(["-m", "rnnlab.cli.evaluate", "--help"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rnnlab.cli.app" in names  # (the module itself runs as __main__)
    assert heavy(names) == []


def test_compare_and_report_side_imports_neither_torch_nor_lightning():
    modules = (
        "rnnlab.cli.compare, rnnlab.report.hydra_callback, hydra_plugins.rnnlab_optuna_sweeper"
    )
    result, names = imported_modules(["-c", f"import {modules}"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "rnnlab.cli.compare" in names
    assert heavy(names) == []


def test_reading_a_run_record_imports_no_torch():
    code = "import sys, rnnlab.run.record; assert 'torch' not in sys.modules, 'torch imported'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "old_path", ["rnnlab.cells.DenseCore", "rnnlab.heads.MLPHead", "rnnlab.data.ArraysDataModule"]
)
def test_class_paths_stored_by_earlier_runs_still_load(old_path):
    from hydra.utils import get_class

    assert get_class(old_path).__name__ == old_path.rpartition(".")[2]
