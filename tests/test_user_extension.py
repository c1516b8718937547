"""A user's own cell, dataset and head, as config files in their own folder (README example)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from tests.conftest import read_json, run_cli, run_script

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


# A plain LightningDataModule (README: adding your own dataset): nothing of rnnlab subclassed.
PLAIN = ["data=rising", "task=classify", "task.target=per_sequence", "model.hidden_size=16"]


def run_own(project: Path, script: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """``script`` (rnnlab-train, rnnlab-eval) run as the README says: from the user's folder,
    their module on PYTHONPATH, their config folder on Hydra's search path."""
    return run_script(
        script,
        [*args, f"hydra.searchpath=[file://{project / 'conf'}]"],
        cwd=project,
        env={"PYTHONPATH": str(project)},
    )


@pytest.fixture(scope="session")
def plain_run(tmp_path_factory) -> tuple[Path, Path]:
    """``(project, run dir)`` of one run of the README's plain LightningDataModule."""
    project = tmp_path_factory.mktemp("plain") / "my_project"
    shutil.copytree(EXAMPLE, project)
    run_dir = project / "run"
    result = run_own(project, "rnnlab-train", [*PLAIN, *RUN, f"hydra.run.dir={run_dir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return project, run_dir


@pytest.mark.xdist_group("plain_run")
def test_plain_lightning_datamodule_trains_with_its_spec_read_from_a_batch(plain_run):
    _, run_dir = plain_run
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and "test/acc" in record["metrics"]["final"]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["data_spec"] == {
        "channels": 1,
        "height": 8,
        "width": 8,
        "seq_len": 6,
        "num_classes": 2,  # no num_classes attribute: counted from the training labels
        "label_level": "per_sequence",
        "source": "my_rnnlab_ext.plain_data.RisingOrFalling",
    }


@pytest.mark.xdist_group("plain_run")
def test_rnnlab_eval_tests_a_checkpoint_of_a_plain_lightning_datamodule(plain_run):
    project, run_dir = plain_run
    eval_dir = project / "eval"
    checkpoint = run_dir / "checkpoints" / "best.ckpt"
    args = [f"ckpt_path={checkpoint}", f"hydra.run.dir={eval_dir}"]
    result = run_own(project, "rnnlab-eval", args)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_json(eval_dir / "test_metrics.json")["metrics"]
    trained = read_json(run_dir / "run.json")["metrics"]["final"]
    assert metrics["test/acc"] == pytest.approx(trained["test/acc"])


def test_plain_datamodule_with_frames_of_the_wrong_shape_is_named_before_training(user_project):
    target = "data._target_=my_rnnlab_ext.plain_data.FramesWithoutChannels"
    result = run_own(
        user_project, "rnnlab-train", [*PLAIN, target, *RUN, f"hydra.run.dir={user_project / 'r'}"]
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "my_rnnlab_ext.plain_data.FramesWithoutChannels yielded frames as a torch.uint8" in (
        result.stderr
    )
    assert "frames[:, :, None]" in result.stderr
    assert not (user_project / "r" / "checkpoints").exists()


def test_readme_shows_the_plain_datamodule_example_that_these_tests_run():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    module = (EXAMPLE / "my_rnnlab_ext" / "plain_data.py").read_text()
    shown = module[module.index("import lightning") : module.index("class FramesWithout")].rstrip()
    assert f"# my_project/my_rnnlab_ext/plain_data.py\n{shown}\n```" in readme
    config = (EXAMPLE / "conf" / "data" / "rising.yaml").read_text().splitlines()[1:]
    assert "# my_project/conf/data/rising.yaml\n" + "\n".join(config) + "\n```" in readme
