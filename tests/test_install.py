"""A non-editable install (``pip install .``, or a built wheel) finds its config tree and trains
from any directory: the configs ship inside the package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from rnnlab.config import CONFIG_DIR
from tests.conftest import PATIENCE_S, REPO, TINY, read_json

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index"]


def source_copy(root: Path) -> Path:
    """What ``pip install .`` reads, copied so the build leaves the checkout untouched."""
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(REPO / "src", source / "src", ignore=ignore)
    return source


def pip(*args: str | Path, cwd: Path) -> None:
    result = subprocess.run(
        [*PIP, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=PATIENCE_S
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_the_wheel_holds_every_config_file_and_module(tmp_path):
    source = source_copy(tmp_path)
    pip("wheel", source, "-w", tmp_path / "dist", *OFFLINE, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("rnnlab-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"rnnlab/conf/{p.relative_to(CONFIG_DIR)}" for p in CONFIG_DIR.rglob("*.yaml")}
    assert len(configs) > 20 and configs <= shipped
    # rnnlab and the Hydra plugins it brings (the Optuna sweeper, found in hydra_plugins/)
    modules = {str(p.relative_to(REPO / "src")) for p in (REPO / "src").rglob("*.py")}
    assert "hydra_plugins/rnnlab_optuna_sweeper/sweeper.py" in modules
    assert modules <= shipped


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True)


def test_pip_install_dot_trains_from_another_directory(tmp_path):
    project = tmp_path / "project"  # a user's own repository, rnnlab installed inside it
    project.mkdir()
    git("init", "-q", cwd=project)
    git("commit", "-q", "--allow-empty", "-m", "a user's project", cwd=project)
    site = project / "site"
    pip("install", source_copy(tmp_path), "--target", site, *OFFLINE, cwd=tmp_path)
    elsewhere = project / "elsewhere"  # no conf/ here, no rnnlab checkout above
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "PYTHONWARNINGS": "ignore"}

    where = subprocess.run(
        [sys.executable, "-c", "import rnnlab.config as c; print(c.CONFIG_DIR)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()) == site / "rnnlab" / "conf"  # the installed copy

    run_dir = elsewhere / "run"
    result = subprocess.run(
        [site / "bin" / "rnnlab-train", *TINY, f"hydra.run.dir={run_dir}"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["git"] == {"commit": None, "dirty": None}  # not the project's commit
