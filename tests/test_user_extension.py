"""A user's own cell, dataset and head, as config files in their own folder (README example)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import read_json, run_cli

EXAMPLE = Path(__file__).parent / "user_extension"
RUN = ["trainer.max_epochs=1", "~callbacks.progress_bar"]


@pytest.fixture
def user_project(tmp_path: Path) -> Path:
    """The example copied where a user would keep it: their own folder, outside rnnlab."""
    project = tmp_path / "my_project"
    shutil.copytree(EXAMPLE, project)
    return project


def test_own_cell_dataset_and_head_via_searchpath(user_project):
    run_dir = user_project / "run"
    result = run_cli(
        "rnnlab.train",
        [
            "model=leaky",
            "data=blinking",
            "task=classify_scaled",
            f"hydra.searchpath=[file://{user_project / 'conf'}]",
            *RUN,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=user_project,
        env={"PYTHONPATH": str(user_project)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["config"]["model"]["_target_"] == "my_rnnlab_ext.components.LeakyIntegrator"
    assert record["config"]["task"]["head"]["_target_"].endswith("ScaledLinearHead")
    assert "test/acc" in record["metrics"]["final"]


def test_own_cell_via_config_dir(user_project):
    run_dir = user_project / "run"
    result = run_cli(
        "rnnlab.train",
        [
            "--config-dir",
            str(user_project / "conf"),
            "model=leaky",
            "data=blinking",
            "task=classify",
            "task.target=per_sequence",
            *RUN,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=user_project,
        env={"PYTHONPATH": str(user_project)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_json(run_dir / "run.json")["choices"]["model"] == "leaky"


@pytest.mark.parametrize(
    "task",
    ["task=classify task.target=per_sequence", "task=next_frame task.context_frames=3"],
    ids=["classify", "next_frame"],
)
def test_own_spatial_core_gets_patches_and_a_conv_read_out(user_project, task):
    run_dir = user_project / "run"
    result = run_cli(
        "rnnlab.train",
        [
            "model=leaky_conv",
            "data=blinking",
            *task.split(),
            "task.predict_frames=3" if "next_frame" in task else "task.pool=mean",
            f"hydra.searchpath=[file://{user_project / 'conf'}]",
            *RUN,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=user_project,
        env={"PYTHONPATH": str(user_project)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["config"]["model"]["patch_size"] == 2


def test_own_target_that_cannot_be_imported_gets_a_clear_error(user_project):
    result = run_cli(
        "rnnlab.train",
        [
            "model=leaky",
            "data=blinking",
            "task=classify",
            "task.target=per_sequence",
            f"hydra.searchpath=[file://{user_project / 'conf'}]",
            *RUN,
            f"hydra.run.dir={user_project / 'run'}",
        ],
        cwd=user_project.parent,  # neither on PYTHONPATH nor in the working directory
    )
    assert result.returncode == 2
    assert (
        "data._target_='my_rnnlab_ext.components.BlinkingSquares' cannot be imported"
        in result.stderr
    )
    assert "PYTHONPATH" in result.stderr and "Traceback" not in result.stderr
