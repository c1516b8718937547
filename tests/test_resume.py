"""Killed runs resume where they stopped and end exactly as uninterrupted runs do."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import PATIENCE_S, read_json, run_cli, run_script
from tests.data_makers import sequences

# Long enough epochs (~1 s, 64 batches) to stop a run between its first checkpoint and its end.
MOVING_DIGITS = [
    "data.canvas_size=32",
    "data.digit_size=14",
    "data.train_size=512",
    "data.val_size=16",
    "data.test_size=16",
    "data.batch_size=8",
]
RUN = [
    "task=classify",
    *MOVING_DIGITS,
    "model.hidden_size=16",
    "model.num_layers=2",
    "model.dropout=0.2",
    "trainer.max_epochs=3",
    "trainer.log_every_n_steps=1",
    "~callbacks.progress_bar",
    "deterministic=true",
]


# The same run with 8 batches an epoch, for the tests that stop it at a chosen step: the pause
# callback holds training at that step until the signal arrives, so no epoch needs to be long.
SHORT_RUN = [arg for arg in RUN if arg != "data.train_size=512"] + ["data.train_size=64"]


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


FAULTS = Path(__file__).resolve().parent / "fault_injection"


def start(
    run_dir: Path,
    args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    run: Sequence[str] = RUN,
) -> subprocess.Popen:
    """Start ``rnnlab-train`` on ``run`` + ``args`` in the background; its stdout is dropped."""
    return subprocess.Popen(
        [sys.executable, "-m", "rnnlab.train", *run, *args, f"hydra.run.dir={run_dir}"],
        cwd=run_dir.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})},
    )


def wait_for(
    path: Path, process: subprocess.Popen, versions: int = 1, timeout: float = PATIENCE_S
) -> None:
    """Wait until ``path`` has been written ``versions`` times (checkpoints are renamed into place,
    so every version is a new inode)."""
    deadline, seen = time.monotonic() + timeout, set()
    while len(seen) < versions:
        assert process.poll() is None, f"run ended before {path} appeared: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} was not written {versions} times"
        with contextlib.suppress(FileNotFoundError):
            seen.add(path.stat().st_ino)
        time.sleep(0.005)


def finished_run(tmp_path_factory, name: str, args: list[str]) -> Path:
    """The run directory of ``rnnlab-train args`` run to its end without interruption."""
    run_dir = tmp_path_factory.mktemp(name) / "run"
    result = run_cli("rnnlab.train", [*args, f"hydra.run.dir={run_dir}"], run_dir.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def uninterrupted(tmp_path_factory) -> Path:
    return finished_run(tmp_path_factory, "uninterrupted", RUN)


@pytest.fixture(scope="session")
def uninterrupted_short(tmp_path_factory) -> Path:
    return finished_run(tmp_path_factory, "uninterrupted_short", SHORT_RUN)


@pytest.fixture(scope="session")
def arrays_source(tmp_path_factory) -> list[str]:
    """The run's data as a file source: 640 labelled sequences, 512 of them (64 batches) train."""
    frames = sequences(640, t=20, h=16, w=16)
    path = tmp_path_factory.mktemp("arrays") / "sequences.npz"
    np.savez(path, frames=frames, labels=frames[:, :, :, 0].argmax(-1) % 4)  # (N, T) labels
    data = ["data=arrays", f"data.path={path}", "data.labels=labels", "data.batch_size=8"]
    return [arg for arg in RUN if arg not in MOVING_DIGITS] + data


@pytest.fixture(scope="session")
def uninterrupted_arrays(arrays_source, tmp_path_factory) -> Path:
    return finished_run(tmp_path_factory, "uninterrupted_arrays", arrays_source)


def assert_same_run(resumed: Path, uninterrupted: Path) -> None:
    a, b = read_json(uninterrupted / "run.json"), read_json(resumed / "run.json")
    assert b["status"] == "completed" and b["attempts"] == 2
    assert b["progress"]["epochs"] == a["progress"]["epochs"] == 3
    assert b["progress"]["steps"] == a["progress"]["steps"]
    assert b["metrics"]["final"] == a["metrics"]["final"]
    assert b["metrics"]["best"] == a["metrics"]["best"]
    assert b["metrics"]["tested"]["weights"] == a["metrics"]["tested"]["weights"]
    # the same TensorBoard run continues: every step once, with the same values
    assert scalars(resumed) == scalars(uninterrupted)


def sigkill_after_epoch_1_then_resume(run_dir: Path, run: list[str]) -> None:
    """Start ``run``, kill it (SIGKILL) once epoch 1's checkpoint is in place, resume it."""
    process = start(run_dir, run=run)
    wait_for(run_dir / "checkpoints" / "last.ckpt", process, versions=2)  # after epoch 1
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert read_json(run_dir / "run.json")["status"] == "running"  # it never got to finish
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2 * 64  # two epochs of 64 batches

    result = run_cli(
        "rnnlab.train", [*run, "resume=true", f"hydra.run.dir={run_dir}"], run_dir.parent
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.slow
def test_sigkill_after_first_checkpoint_then_resume_equals_uninterrupted(uninterrupted, tmp_path):
    run_dir = tmp_path / "run"
    sigkill_after_epoch_1_then_resume(run_dir, RUN)
    assert_same_run(run_dir, uninterrupted)


@pytest.mark.slow
def test_sigkill_then_resume_on_a_file_source_equals_uninterrupted(
    arrays_source, uninterrupted_arrays, tmp_path
):
    """The resumed epoch 2 reads the order an uninterrupted run reads in its epoch 2."""
    run_dir = tmp_path / "run"
    sigkill_after_epoch_1_then_resume(run_dir, arrays_source)
    assert_same_run(run_dir, uninterrupted_arrays)
    resumed = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    whole = torch.load(uninterrupted_arrays / "checkpoints" / "last.ckpt", weights_only=True)
    for name, weights in whole["state_dict"].items():
        assert torch.equal(resumed["state_dict"][name], weights), name


def stop_at_step(run_dir: Path, step: int, signum: int) -> None:
    """Run :data:`SHORT_RUN` until training has made ``step`` optimizer steps, send ``signum`` right
    then (a callback announces the step in a file and waits for the signal) and wait for the run
    to end with status 128 + ``signum``."""
    announce = run_dir.parent / f"reached_{step}"
    pause = [
        "+callbacks.pause._target_=rnnlab_faults.PauseAtStep",
        f"+callbacks.pause.step={step}",
        f"+callbacks.pause.announce={announce}",
    ]
    process = start(run_dir, pause, env={"PYTHONPATH": str(FAULTS)}, run=SHORT_RUN)
    wait_for(announce, process)
    process.send_signal(signum)
    assert process.wait(timeout=PATIENCE_S) == 128 + signum, process.stderr.read()[-3000:]


def saved_step(run_dir: Path) -> int:
    """The ``global_step`` of the run's ``last.ckpt`` (read without loading its weights)."""
    path = run_dir / "checkpoints" / "last.ckpt"
    return torch.load(path, weights_only=True, mmap=True)["global_step"]


def resume(run_dir: Path) -> None:
    result = run_script(
        "rnnlab-resume", [str(run_dir)], run_dir.parent, env={"PYTHONPATH": str(FAULTS)}
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.xdist_group("resume_short")
def test_sigterm_mid_epoch_saves_that_step_and_the_resumed_run_equals_an_uninterrupted_one(
    uninterrupted_short, tmp_path
):
    run_dir = tmp_path / "run"
    stop_at_step(run_dir, 11, signal.SIGTERM)  # epoch 1, after its 3rd batch (8 per epoch)
    assert saved_step(run_dir) == 11
    record = read_json(run_dir / "run.json")
    assert record["status"] == "interrupted"
    assert record["failure"].startswith("received SIGTERM; saved")
    assert "at step 11" in record["failure"]
    assert record["progress"] == {"epochs": 1, "steps": 11}

    resume(run_dir)
    assert_same_run(run_dir, uninterrupted_short)


@pytest.mark.xdist_group("resume_short")
def test_sigusr1_in_an_epochs_last_batch_keeps_that_epoch_and_its_validation(
    uninterrupted_short, tmp_path
):
    run_dir = tmp_path / "run"
    stop_at_step(run_dir, 8, signal.SIGUSR1)  # the last batch of epoch 0, before validation
    assert saved_step(run_dir) == 8
    record = read_json(run_dir / "run.json")
    assert record["status"] == "interrupted" and record["progress"] == {"epochs": 1, "steps": 8}
    assert [step for step, _ in scalars(run_dir)["val/loss"]] == [7]  # epoch 0's validation

    resume(run_dir)
    assert_same_run(run_dir, uninterrupted_short)


def test_ckpt_path_last_without_a_checkpoint_says_so(tmp_path):
    result = run_cli(
        "rnnlab.train", [*RUN, "ckpt_path=last", f"hydra.run.dir={tmp_path / 'r'}"], tmp_path
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "ckpt_path=last" in result.stderr and "has no checkpoint yet" in result.stderr


@pytest.mark.xdist_group("resume_short")
def test_a_new_run_refuses_a_directory_that_holds_a_run(uninterrupted_short, tmp_path):
    before = (uninterrupted_short / "run.json").read_text()
    result = run_cli("rnnlab.train", [*SHORT_RUN, f"hydra.run.dir={uninterrupted_short}"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "already holds a run (status completed)" in result.stderr
    assert (uninterrupted_short / "run.json").read_text() == before


@pytest.mark.xdist_group("resume_short")
def test_resume_refuses_a_run_directory_of_another_config(uninterrupted_short, tmp_path):
    result = run_cli(
        "rnnlab.train",
        [*SHORT_RUN, "model.hidden_size=8", "resume=true", f"hydra.run.dir={uninterrupted_short}"],
        tmp_path,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "different config (model differ)" in result.stderr


@pytest.mark.slow
def test_resumed_sweep_skips_completed_runs_and_resumes_the_others(tmp_path):
    sweep = tmp_path / "sweep"
    args = ["-m", "seed=1,2", *RUN, "trainer.max_epochs=2", f"hydra.sweep.dir={sweep}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnlab.train", *args],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    wait_for(sweep / "1" / "checkpoints" / "last.ckpt", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert read_json(sweep / "0" / "run.json")["status"] == "completed"
    assert read_json(sweep / "1" / "run.json")["status"] == "running"
    first_record = (sweep / "0" / "run.json").read_text()

    result = run_cli("rnnlab.train", [*args, "resume=true"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "holds a completed run; skipping it" in result.stdout
    assert (sweep / "0" / "run.json").read_text() == first_record  # untouched
    second = read_json(sweep / "1" / "run.json")
    assert second["status"] == "completed" and second["attempts"] == 2
    assert second["progress"]["epochs"] == 2
