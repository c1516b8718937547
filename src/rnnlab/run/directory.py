"""The run directory before training: what to resume from, and whether there is room to write."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnlab.config.groups import DEFINING_KEYS
from rnnlab.errors import ConfigError, RnnlabError
from rnnlab.run.record import read_run_record

LOG_MARGIN_BYTES = 32 * 2**20  # TensorBoard events, run.json, logs


@dataclass(frozen=True)
class ResumePlan:
    """``checkpoint`` to continue fitting from (``None``: start fresh); ``completed``: the run
    directory already holds a completed run (its run.json), which a resumed sweep skips."""

    checkpoint: str | None = None
    completed: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None


def last_checkpoint_path(run_dir: Path) -> Path:
    """Where a run keeps its latest checkpoint (conf/callbacks/last_checkpoint.yaml, and on
    signals)."""
    return run_dir / "checkpoints" / "last.ckpt"


def any_checkpoint(run_dir: Path) -> bool:
    return any((run_dir / "checkpoints").glob("*.ckpt"))


def plan_resume(
    run_dir: Path, config: dict[str, Any], requeued: str | None = None, follower: bool = False
) -> ResumePlan:
    """What ``resume=true`` / ``ckpt_path=last`` / ``ckpt_path=<file>`` mean for ``run_dir``.

    ``requeued`` (the marker of a job a cluster requeued, :mod:`rnnlab.run.cluster`): the job
    continues its own run directory, as with ``resume=true``. ``follower``: a process of a DDP
    run other than rank 0, which finds the run.json rank 0 has just written and takes the same
    checkpoint without refusing the directory.
    """
    ckpt_path = config.get("ckpt_path")
    resume = bool(config.get("resume")) or requeued is not None
    if not resume and ckpt_path != "last":
        previous = read_run_record(run_dir)
        if follower:
            previous = None
        if previous is not None and (previous["status"] != "failed" or any_checkpoint(run_dir)):
            raise ConfigError(
                f"{run_dir} already holds a run (status {previous['status']}); a new run there "
                "would overwrite its checkpoints and record. Continue it with resume=true "
                f"(rnnlab-resume {run_dir}), or give the new run its own hydra.run.dir "
                "(hydra.sweep.dir with -m)."
            )
        if ckpt_path is not None and not Path(ckpt_path).is_file():
            raise ConfigError(
                f"ckpt_path={ckpt_path!r} does not exist. Give the path of a .ckpt file, "
                "ckpt_path=last (this run directory's last checkpoint), or resume=true."
            )
        return ResumePlan(checkpoint=ckpt_path)
    previous = read_run_record(run_dir)
    if previous is not None:
        changed = [k for k in DEFINING_KEYS if previous["config"].get(k) != config.get(k)]
        if changed:
            raise ConfigError(
                f"resume=true, but {run_dir} holds a run with a different config "
                f"({', '.join(changed)} differ). Resume with the same config (rnnlab-resume "
                f"{run_dir} reuses it), or start a new run directory."
            )
        if resume and previous.get("status") == "completed":
            return ResumePlan(completed=previous, previous=previous)
    last = last_checkpoint_path(run_dir)
    if last.is_file():
        return ResumePlan(checkpoint=str(last), previous=previous)
    if ckpt_path == "last":
        raise ConfigError(
            f"ckpt_path=last, but {last} does not exist: this run directory has no checkpoint "
            "yet. Point hydra.run.dir at the run to continue, or use resume=true, which starts "
            "fresh when there is nothing to resume."
        )
    return ResumePlan(previous=previous)


def resume_step(plan: ResumePlan, run_dir: Path) -> int | None:
    """When continuing this run directory's own checkpoint: the first step the resumed attempt
    logs (TensorBoard hides what the interrupted attempt logged from there on); else ``None``."""
    if plan.checkpoint is None or not Path(plan.checkpoint).resolve().is_relative_to(
        run_dir.resolve()
    ):
        return None
    import torch

    # mmap: reads the step without loading the weights (Lightning loads them right after)
    checkpoint = torch.load(plan.checkpoint, map_location="cpu", weights_only=True, mmap=True)
    return int(checkpoint["global_step"])


def check_free_space(run_dir: Path, parameters: int) -> None:
    """Fail now rather than mid-run when ``run_dir`` cannot hold the run's checkpoints.

    Needs room for three checkpoints (best, last, and a temporary one while saving), each about
    12 bytes per parameter (weights and Adam's two moments), plus a margin for logs.
    """
    needed = 3 * 12 * parameters + LOG_MARGIN_BYTES
    free = shutil.disk_usage(run_dir).free
    if free < needed:
        raise RnnlabError(
            f"The output folder {run_dir} has {free / 2**20:.1f} MiB free, but this run needs "
            f"about {needed / 2**20:.1f} MiB for its checkpoints and logs. Free some space, or "
            "point the run elsewhere: hydra.run.dir=<dir> (one run), hydra.sweep.dir=<dir> "
            "(with -m), or paths.output_root=<dir>."
        )
