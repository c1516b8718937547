"""Runs that cannot go on stop with a clear message and keep what they had."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnlab.run.trainer import build_trainer
from tests.conftest import TINY, read_json, run_cli

FAULTS = Path(__file__).resolve().parent / "fault_injection"


def test_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    result = run_cli(
        "rnnlab.train",
        [
            *TINY,
            "task=classify",
            "trainer.max_epochs=3",
            "model._target_=rnnlab_faults.NanAfterCore",
            "~model.cell",
            "~model.num_layers",
            "~model.dropout",
            "+model.nan_after=6",
            f"hydra.run.dir={run_dir}",
        ],
        tmp_path,
        env={"PYTHONPATH": str(FAULTS)},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    # 4 steps per epoch: epoch 0 is fine, the 7th training step (step 6, epoch 1) is not
    assert "The training loss became nan at step 6 (epoch 1, batch 2)" in result.stderr
    record = read_json(run_dir / "run.json")
    assert record["status"] == "failed" and "became nan at step 6" in record["failure"]
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4
    assert all(torch.isfinite(w).all() for w in last["state_dict"].values())


def test_unwritable_output_directory_fails_at_start(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the run directory's parent should be")
    result = run_cli("rnnlab.train", [*TINY, f"hydra.run.dir={blocker / 'run'}"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(blocker) in result.stderr and "hydra.run.dir=<dir>" in result.stderr


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare for a private tmpfs")
def test_full_output_directory_fails_at_start(tmp_path):
    mount = tmp_path / "small_disk"
    mount.mkdir()
    train = f"{sys.executable} -m rnnlab.train {' '.join(TINY)} hydra.run.dir={mount}/run"
    script = f"mount -t tmpfs -o size=2m tmpfs {mount} && {train}"
    probe = subprocess.run(["unshare", "-r", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("user namespaces are not available here")
    result = subprocess.run(
        ["unshare", "-r", "-m", "sh", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "MiB free" in result.stderr and "needs about" in result.stderr


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ([], 1.0),
        (["trainer.gradient_clip_val=0.25"], 0.25),
        (["trainer.gradient_clip_val=null"], None),
    ],
)
def test_gradient_clipping_is_on_by_default_and_configurable(
    compose_config, tmp_path, override, expected
):
    trainer = build_trainer(compose_config([*TINY, f"paths.output_dir={tmp_path}", *override]))
    assert trainer.gradient_clip_val == expected
