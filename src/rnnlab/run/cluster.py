"""What a run needs to know about the machinery that started it: a cluster's requeue, the signal
handler a launcher installed, and which process of a multi-process (DDP) run this is.

Requeued jobs. A job requeued by SLURM (``SLURM_RESTART_COUNT`` >= 1: after a time limit, a
preemption or a node failure) or by rnnlab's submitit launchers (``RNNLAB_REQUEUED``, set by the
resubmitted job: :mod:`hydra_plugins.rnnlab_submitit_launcher`) lands in the run directory of its
first attempt. ``rnnlab-train`` then treats it as ``resume=true``: it continues from that
directory's ``last.ckpt`` (or starts, if nothing was saved yet; or skips a completed run) instead
of refusing a directory that holds a run.

Handing the signal back. Under submitit, the job's SIGUSR1 handler is submitit's: it checkpoints
the job and requeues it. rnnlab's ``SaveOnSignal`` replaces it while training, to save
``last.ckpt`` at the exact step first; :func:`hand_over_signal` then calls the handler that was
there before the run started, so the launcher requeues the job as it would have.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

REQUEUED_ENV = "RNNLAB_REQUEUED"  # times requeued; rnnlab's submitit launchers set it
SLURM_RESTART_ENV = "SLURM_RESTART_COUNT"

Handler = Callable[[int, Any], Any] | int | None


def requeue_marker(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """Why this process is a requeued job (the marker it found), or ``None`` for a first attempt."""
    for name in (REQUEUED_ENV, SLURM_RESTART_ENV):
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return f"{name}={value}"
    return None


def launcher_handlers(signals: tuple[int, ...]) -> dict[int, Handler]:
    """The handlers installed for ``signals`` before the run starts (a launcher's, or defaults)."""
    return {signum: signal.getsignal(signum) for signum in signals}


def hand_over_signal(signum: int, handlers: dict[int, Handler]) -> None:
    """Call the handler a launcher had installed for ``signum`` before the run replaced it, as
    if the signal had reached it (submitit's requeues the job and exits). Default and ignored
    handlers are left alone: a run outside a launcher just ends."""
    handler = handlers.get(signum)
    if callable(handler):
        handler(signum, None)


def process_rank(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """This process's global rank in a multi-process run, read before the process group exists:
    ``RANK`` (torchrun), ``SLURM_PROCID`` when SLURM started the ranks (``SLURM_NTASKS`` > 1), else
    Lightning's launcher: nonzero for its child processes (``LOCAL_RANK``) and other nodes
    (``NODE_RANK``). 0 for a single-process run."""
    if environ.get("RANK", "").isdigit():
        return int(environ["RANK"])
    if int(environ.get("SLURM_NTASKS", "1") or 1) > 1 and environ.get("SLURM_PROCID", "").isdigit():
        return int(environ["SLURM_PROCID"])
    local, node = int(environ.get("LOCAL_RANK", 0) or 0), int(environ.get("NODE_RANK", 0) or 0)
    return local if node == 0 else max(1, node)


def check_multirun_strategy(trainer: Any, multirun: bool) -> None:
    """Refuse a strategy that re-runs the command line for its other processes (Lightning's
    ``ddp``) inside a Hydra multirun, where each of them would start the whole sweep again.

    Strategies whose processes come from elsewhere are fine: ``ddp_spawn`` (spawned from this
    process), and ranks that SLURM or torchrun started (``creates_processes_externally``).
    """
    from lightning.pytorch.strategies.launchers.subprocess_script import (
        _SubprocessScriptLauncher,
    )

    from rnnlab.errors import ConfigError

    launcher = getattr(trainer.strategy, "launcher", None)
    if not multirun or not isinstance(launcher, _SubprocessScriptLauncher):
        return
    if launcher.cluster_environment.creates_processes_externally or launcher.num_processes < 2:
        return
    raise ConfigError(
        f"trainer.strategy={type(trainer.strategy).__name__.removesuffix('Strategy').lower()} "
        f"with {launcher.num_processes} processes cannot run inside a sweep (-m): Lightning "
        "starts the other processes by running the same command line again, and each of them "
        "would start the whole sweep anew. In a sweep, use trainer.strategy=ddp_spawn (the "
        "processes are spawned from the run, whose config and paths are already resolved); or "
        "run the multi-process runs one at a time without -m (rnnlab-train trainer=ddp ...); "
        "on a cluster, hydra/launcher=submitit_slurm with hydra.launcher.tasks_per_node equal "
        "to trainer.devices lets SLURM start the processes, which works inside a sweep."
    )
