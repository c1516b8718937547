"""Cluster launchers: a sweep through submitit (the local executor runs here), jobs that SLURM
signals before their time limit are requeued and continue their run from last.ckpt."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import torch

from rnnlab.run.cluster import requeue_marker
from tests.conftest import TINY, read_json, run_cli

FAULTS = Path(__file__).resolve().parent / "fault_injection"
LOCAL = ["hydra/launcher=submitit_local"]
# 4 batches of 8 per epoch, 2 epochs: 8 steps; the fault callback sends SIGUSR1 after step 3
TWO_EPOCHS = [*TINY, "trainer.max_epochs=2", "task=classify"]
SIGNAL_AT_3 = "+callbacks.signal_at_step={_target_: rnnlab_faults.SignalAtStep, step: 3}"
FAULT_ENV = {"PYTHONPATH": str(FAULTS)}


def submitit_logs(sweep: Path) -> str:
    return "\n".join(p.read_text() for p in sorted((sweep / ".submitit").rglob("*_log.out")))


def test_a_sweep_on_submitit_local_runs_every_job_and_records_each(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        ["-m", *LOCAL, "model=rnn,gru", *TINY, f"hydra.sweep.dir={sweep}"],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "is validated against ConfigStore schema" not in result.stderr  # our yaml, on purpose
    records = {n: read_json(sweep / n / "run.json") for n in ("0", "1")}
    assert {r["choices"]["model"] for r in records.values()} == {"rnn", "gru"}
    assert all(r["status"] == "completed" for r in records.values())
    assert all(r["threads"] == 1 for r in records.values())  # hydra.launcher.cpus_per_task
    assert submitit_logs(sweep).count("Job completed successfully") == 2


@pytest.mark.slow
def test_a_job_signalled_before_its_time_limit_is_requeued_and_resumes(tmp_path):
    # SIGUSR1 is what submitit's controller (and SLURM) send signal_delay_s before the limit
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        ["-m", *LOCAL, *TWO_EPOCHS, SIGNAL_AT_3, f"hydra.sweep.dir={sweep}"],
        tmp_path,
        env=FAULT_ENV,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    logs = submitit_logs(sweep)
    assert "received SIGUSR1; saved" in logs and "Requeued job" in logs
    assert "requeued job (RNNLAB_REQUEUED=1): continuing from" in logs
    record = read_json(sweep / "0" / "run.json")
    assert record["status"] == "completed" and record["attempts"] == 2
    assert record["resumed_from"] == str(sweep / "0" / "checkpoints" / "last.ckpt")
    assert record["progress"]["steps"] == 8 and record["progress"]["epochs"] == 2
    assert record["progress"]["train_samples"] == 5 * 8  # the requeued attempt: steps 4..8


def test_a_requeued_slurm_job_continues_its_run_directory(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TWO_EPOCHS, SIGNAL_AT_3, f"hydra.run.dir={run_dir}"]
    first = run_cli("rnnlab.train", args, tmp_path, env=FAULT_ENV)
    assert first.returncode == 128 + signal.SIGUSR1, first.stderr[-3000:]
    assert read_json(run_dir / "run.json")["status"] == "interrupted"
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 3

    again = run_cli("rnnlab.train", args, tmp_path, env=FAULT_ENV)  # no marker: not a requeue
    assert again.returncode == 2 and "already holds a run (status interrupted)" in again.stderr

    slurm_requeue = {**FAULT_ENV, "SLURM_RESTART_COUNT": "1"}
    requeued = run_cli("rnnlab.train", args, tmp_path, env=slurm_requeue)
    assert requeued.returncode == 0, requeued.stderr[-3000:]
    assert "requeued job (SLURM_RESTART_COUNT=1): continuing from" in requeued.stdout
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and record["attempts"] == 2
    assert record["progress"]["steps"] == 8


def test_requeue_markers():
    assert requeue_marker({}) is None
    assert requeue_marker({"SLURM_RESTART_COUNT": "0"}) is None  # a first attempt on SLURM
    assert requeue_marker({"SLURM_RESTART_COUNT": "2"}) == "SLURM_RESTART_COUNT=2"
    assert requeue_marker({"RNNLAB_REQUEUED": "1"}) == "RNNLAB_REQUEUED=1"


def test_slurm_jobs_get_sigusr1_before_the_time_limit_and_requeues(compose_config, monkeypatch):
    from hydra.utils import instantiate
    from submitit.core.job_environment import JobEnvironment
    from submitit.slurm.slurm import _make_sbatch_string

    from hydra_plugins.rnnlab_submitit_launcher.launcher import (
        RnnlabSlurmLauncher,
        use_requeue_signal,
    )

    cfg = compose_config(["hydra/launcher=submitit_slurm", "hydra.launcher.partition=gpu"])
    launcher_cfg = cfg.hydra.launcher
    assert launcher_cfg.max_num_timeout > 0 and launcher_cfg.signal_delay_s > 0
    # (Hydra's plugin scan loads the module a second time: compare by name)
    assert type(instantiate(launcher_cfg)).__qualname__ == RnnlabSlurmLauncher.__qualname__

    monkeypatch.delenv("SUBMITIT_PREEMPT_SIGNAL", raising=False)
    monkeypatch.setattr(JobEnvironment, "USR_SIG", JobEnvironment.USR_SIG)
    assert use_requeue_signal() == "USR1"
    script = _make_sbatch_string(
        command="python -m submitit.core._submit",
        folder="/tmp/f",
        partition="gpu",
        signal_delay_s=launcher_cfg.signal_delay_s,
    )
    assert f"#SBATCH --signal=USR1@{launcher_cfg.signal_delay_s}" in script
    assert "#SBATCH --partition=gpu" in script
