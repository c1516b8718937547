"""run.json holds what is needed to compare and repeat a run; the saved config reruns it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rnnlab.run.record import SCHEMA_VERSION
from tests.conftest import read_json, run_cli, run_script

SCHEMA_FIELDS = {
    "schema_version",
    "status",
    "failure",
    "started_at",
    "finished_at",
    "wall_time_s",
    "attempts",
    "resumed_from",
    "run_dir",
    "tensorboard_dir",
    "command",
    "overrides",
    "choices",
    "tags",
    "config",
    "metrics",
    "parameters",
    "progress",
    "throughput",
    "checkpoints",
    "versions",
    "git",
    "host",
    "threads",
}


@pytest.fixture
def finished_run(tiny_run) -> Path:
    """The directory of the session's plain tiny run."""
    return tiny_run[1]


@pytest.mark.xdist_group("tiny_run")
def test_run_record_has_every_documented_field(finished_run):
    record = read_json(finished_run / "run.json")
    assert set(record) == SCHEMA_FIELDS
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["status"] == "completed" and record["failure"] is None


@pytest.mark.xdist_group("tiny_run")
def test_run_record_says_what_ran_and_how_it_went(finished_run):
    record = read_json(finished_run / "run.json")
    assert record["config"]["model"]["hidden_size"] == 16
    assert record["parameters"] > 0
    assert record["progress"] == {"epochs": 1, "steps": 4, "train_samples": 32}
    assert record["throughput"]["train_samples_per_s"] > 0
    assert record["wall_time_s"] > 0
    assert record["metrics"]["best"]["metric"] == "val/mse_per_frame"  # next_frame's monitor
    assert set(record["versions"]) == {
        "python",
        "torch",
        "lightning",
        "hydra",
        "omegaconf",
        "rnnlab",
    }
    assert set(record["git"]) == {"commit", "dirty"}
    assert record["host"]["cpus"] >= 1
    assert record["checkpoints"]["best"].endswith("best.ckpt")


@pytest.mark.xdist_group("tiny_run")
def test_saved_config_reruns_the_run_with_the_same_numbers(finished_run, tmp_path):
    rerun_dir = tmp_path / "rerun"
    result = run_cli(
        "rnnlab.train",
        [
            "--config-path",
            str(finished_run / ".hydra"),
            "--config-name",
            "config",
            f"hydra.run.dir={rerun_dir}",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    original = read_json(finished_run / "run.json")["metrics"]["final"]
    assert read_json(rerun_dir / "run.json")["metrics"]["final"] == original


@pytest.mark.xdist_group("tiny_run")
def test_rnnlab_rerun_repeats_a_run_in_a_new_directory(finished_run, tmp_path):
    result = run_script("rnnlab-rerun", [str(finished_run)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (new_run,) = (tmp_path / "outputs" / "runs").glob("*/*")
    original, repeated = read_json(finished_run / "run.json"), read_json(new_run / "run.json")
    assert repeated["metrics"]["final"] == original["metrics"]["final"]
    assert repeated["choices"] == original["choices"]  # what was run stays known
    assert repeated["rerun_of"] == str(finished_run.resolve())


def test_rnnlab_rerun_of_a_folder_without_a_run_says_so(tmp_path):
    result = run_script("rnnlab-rerun", [str(tmp_path)], tmp_path)
    assert result.returncode == 2
    assert "is not an rnnlab run directory" in result.stderr and "Traceback" not in result.stderr
