"""rnnlab-eval: a trained checkpoint tested on the data it trained on, or on other data."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rnnlab.cli.evaluate import split_data_overrides
from tests.conftest import TINY, read_json, run_cli


@pytest.fixture
def trained(classify_run) -> Path:
    """The session's tiny task=classify run."""
    return classify_run


def run_eval(args: list[str], cwd: Path):
    return run_cli("rnnlab.cli.evaluate", [*args, f"hydra.run.dir={cwd / 'eval'}"], cwd)


@pytest.mark.xdist_group("classify_run")
def test_checkpoint_loads_with_torchs_safe_loader(trained):
    checkpoint = torch.load(trained / "checkpoints" / "best.ckpt", weights_only=True)
    assert checkpoint["rnnlab"]["task_class"] == "rnnlab.tasks.classify.FrameClassifier"


@pytest.mark.xdist_group("classify_run")
def test_eval_reproduces_the_test_metrics_of_training(trained, tmp_path):
    result = run_eval([f"ckpt_path={trained / 'checkpoints' / 'best.ckpt'}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    report = read_json(tmp_path / "eval" / "test_metrics.json")
    trained_metrics = read_json(trained / "run.json")["metrics"]["final"]
    for name in ("test/acc", "test/f1", "test/loss"):
        assert report["metrics"][name] == pytest.approx(trained_metrics[name], abs=1e-6)
    assert "test/acc" in result.stdout


@pytest.mark.xdist_group("classify_run")
def test_eval_applies_data_overrides_to_the_trained_data(trained, tmp_path):
    result = run_eval(
        [
            f"ckpt_path={trained / 'checkpoints' / 'best.ckpt'}",
            "data.test_size=8",
            "data.test_seed=5",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data = read_json(tmp_path / "eval" / "test_metrics.json")["data"]
    assert data["test_size"] == 8 and data["test_seed"] == 5
    assert data["canvas_size"] == 32  # the rest is what the checkpoint trained on


@pytest.mark.xdist_group("classify_run")
def test_eval_on_another_configured_data_source(trained, tmp_path):
    result = run_eval(
        [
            f"ckpt_path={trained / 'checkpoints' / 'best.ckpt'}",
            "data=moving_digits",
            "data.canvas_size=32",
            "data.digit_size=14",
            "data.test_size=8",
            "data.digits=sklearn",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_json(tmp_path / "eval" / "test_metrics.json")["data"]["digits"] == "sklearn"


@pytest.mark.xdist_group("classify_run")
def test_eval_refuses_data_of_another_frame_size(trained, tmp_path):
    result = run_eval(
        [f"ckpt_path={trained / 'checkpoints' / 'best.ckpt'}", "data=moving_digits"], tmp_path
    )
    assert result.returncode == 2
    assert "(1, 32, 32)" in result.stderr and "(1, 64, 64)" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.xdist_group("classify_run")
def test_eval_writes_to_its_own_eval_folder_by_default(trained, tmp_path):
    result = run_cli(
        "rnnlab.cli.evaluate", [f"ckpt_path={trained / 'checkpoints' / 'best.ckpt'}"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (report,) = (tmp_path / "outputs" / "eval").glob("*/*/test_metrics.json")
    assert f"written to {report}" in result.stdout
    assert not (tmp_path / "outputs" / "runs").exists()


def test_eval_without_a_checkpoint_says_what_to_give(tmp_path):
    result = run_cli("rnnlab.cli.evaluate", [f"hydra.run.dir={tmp_path / 'eval'}"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ckpt_path is required" in result.stderr and "ckpt_path=<value>" in result.stderr


def test_eval_of_a_missing_checkpoint_says_so(tmp_path):
    result = run_eval([f"ckpt_path={tmp_path / 'nope.ckpt'}"], tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_data_overrides_go_to_hydra_when_a_data_source_is_picked():
    assert split_data_overrides(["ckpt_path=x", "data.test_size=3"]) == (
        ["ckpt_path=x"],
        ["data.test_size=3"],
    )
    assert split_data_overrides(["data=moving_digits", "data.test_size=3"]) == (
        ["data=moving_digits", "data.test_size=3"],
        [],
    )


def test_eval_tests_in_the_precision_the_model_was_trained_in(train_run, tmp_path):
    _, run_dir = train_run([*TINY, "++trainer.precision=bf16-mixed"])
    checkpoint = f"ckpt_path={run_dir / 'checkpoints' / 'best.ckpt'}"
    trained_metrics = read_json(run_dir / "run.json")["metrics"]["final"]
    reports = {}
    for name, extra in (("trained", []), ("float32", ["++trainer.precision=32"])):
        args = [checkpoint, *extra, f"hydra.run.dir={tmp_path / name}"]
        result = run_cli("rnnlab.cli.evaluate", args, tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        reports[name] = read_json(tmp_path / name / "test_metrics.json")["metrics"]
    for metric in ("test/loss", "test/mse_per_frame"):
        assert reports["trained"][metric] == pytest.approx(trained_metrics[metric], abs=1e-6)
    # an explicit precision wins (float32 reads the bf16-trained weights slightly differently)
    assert reports["float32"]["test/mse_per_frame"] != reports["trained"]["test/mse_per_frame"]
