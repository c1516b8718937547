"""The real entrypoint on every data source and every task it supports (one sweep per source)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TINY_RUN, read_json, run_cli
from tests.data_makers import tiny_data_overrides

CLASSIFY_METRICS = {"test/acc", "test/f1"}
NEXT_FRAME_METRICS = {"test/mse_per_frame", "test/mae_per_frame"}


def sweep(tmp_path: Path, args: list[str]) -> list[dict]:
    """Run ``rnnlab-train -m <args>``; return the run records of its jobs."""
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        ["-m", *args, *TINY_RUN, f"hydra.sweep.dir={sweep_dir}"],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit())
    return [read_json(run / "run.json") for run in runs]


@pytest.mark.parametrize("source", ["arrays", "frames_dir"])
def test_file_source_trains_and_tests_each_task(tmp_path, source):
    records = sweep(
        tmp_path,
        [f"data={source}", "task=classify,next_frame", *tiny_data_overrides(source, tmp_path)],
    )
    by_task = {record["choices"]["task"]: record for record in records}
    assert set(by_task) == {"classify", "next_frame"}
    assert all(record["status"] == "completed" for record in records)
    assert set(by_task["classify"]["metrics"]["final"]) >= CLASSIFY_METRICS
    assert set(by_task["next_frame"]["metrics"]["final"]) >= NEXT_FRAME_METRICS
    assert by_task["classify"]["config"]["data"]["path"].startswith(str(tmp_path))


def test_digit_rows_classifies_sequences_row_by_row_and_pixel_by_pixel(tmp_path):
    records = sweep(
        tmp_path,
        [
            "data=digit_rows",
            "task=classify",
            "task.target=per_sequence",
            "data.mode=rows,pixels",
            "data.permute=true",
            *tiny_data_overrides("digit_rows"),
        ],
    )
    assert sorted(r["config"]["data"]["mode"] for r in records) == ["pixels", "rows"]
    for record in records:
        assert record["status"] == "completed"
        assert set(record["metrics"]["final"]) >= CLASSIFY_METRICS
