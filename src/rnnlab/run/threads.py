"""How many CPU threads torch may use in this run, so parallel jobs do not oversubscribe the CPU.

Two jobs with torch's default thread count on 2 cores spin against each other (a 2 ms step took
~1 s). ``threads: null`` (default) gives each job ``cores // parallel jobs``, where the parallel
jobs are ``hydra.launcher.n_jobs`` under a launcher that runs jobs side by side (joblib: -1 means
one per core), capped by ``hydra.sweeper.n_jobs`` (an Optuna search's batch); a run on its own
keeps torch's default. Under a submitit launcher (jobs on their own CPUs, or all at once for
``submitit_local``) each job takes ``hydra.launcher.cpus_per_task`` threads. ``threads: <n>``
sets it.
"""

from __future__ import annotations

import os
from typing import Any

from rnnlab.errors import ConfigError


def parallel_jobs(hydra_cfg: Any, cores: int) -> int:
    """Jobs that run at once under this Hydra config (1 for a single run or the basic launcher)."""
    from hydra.types import RunMode

    if hydra_cfg is None or hydra_cfg.get("mode") != RunMode.MULTIRUN:
        return 1
    launcher = hydra_cfg.get("launcher") or {}
    n_jobs = launcher.get("n_jobs")
    if n_jobs is None:  # the basic launcher runs jobs one after another in this process
        return 1
    n_jobs = int(n_jobs)
    jobs = n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)  # joblib: -1 = all cores
    batch = (hydra_cfg.get("sweeper") or {}).get("n_jobs")
    if isinstance(batch, int) and batch > 0:
        jobs = min(jobs, batch)
    return max(1, jobs)


def submitit_cpus(hydra_cfg: Any) -> int | None:
    """``hydra.launcher.cpus_per_task`` of a submitit launcher in a multirun, else ``None``."""
    from hydra.types import RunMode

    if hydra_cfg is None or hydra_cfg.get("mode") != RunMode.MULTIRUN:
        return None
    launcher = hydra_cfg.get("launcher") or {}
    cpus = launcher.get("cpus_per_task") if "submitit_folder" in launcher else None
    return int(cpus) if isinstance(cpus, int) and cpus >= 1 else None


def limit_threads(requested: Any, hydra_cfg: Any = None) -> int:
    """Set torch's intra-op thread count (before any torch work); return the count in use."""
    import torch

    if requested is not None:
        if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise ConfigError(
                f"threads={requested!r} is not valid: use a whole number >= 1, or null for "
                "cores / parallel jobs."
            )
        torch.set_num_threads(requested)
        return requested
    per_task = submitit_cpus(hydra_cfg)
    if per_task is not None:
        torch.set_num_threads(per_task)
        return per_task
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    jobs = parallel_jobs(hydra_cfg, cores or 1)
    if jobs > 1:
        torch.set_num_threads(max(1, (cores or 1) // jobs))
    return torch.get_num_threads()
