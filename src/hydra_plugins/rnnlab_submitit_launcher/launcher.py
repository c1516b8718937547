"""hydra-submitit-launcher's launchers, with SIGUSR1 before the time limit and requeue-aware jobs.

How a requeue goes (``rnnlab.run.cluster`` has the job's side):

1. ``launch`` makes submitit use SIGUSR1 as its time-limit/preemption signal (SLURM's
   ``--signal=USR1@<signal_delay_s>``; the local executor's controller sends it too).
2. During training, rnnlab's ``SaveOnSignal`` callback catches SIGUSR1, saves ``last.ckpt``
   before the next batch and ends the run as ``interrupted``; ``rnnlab-train`` then calls the
   handler submitit had installed for SIGUSR1, which calls :meth:`checkpoint` and requeues the job
   (SLURM: ``scontrol requeue``; local: the controller starts the job again).
3. :meth:`checkpoint` resubmits this launcher marked as requeued; the requeued job sets
   ``RNNLAB_REQUEUED`` before running the Hydra job, and ``rnnlab-train`` treats its run directory
   as ``resume=true`` would: it continues from ``last.ckpt``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import LocalLauncher, SlurmLauncher

PREEMPT_SIGNAL_ENV = "SUBMITIT_PREEMPT_SIGNAL"  # read by submitit when it is imported
REQUEUE_SIGNAL = "USR1"  # rnnlab runs save last.ckpt on SIGUSR1 (rnnlab.run.callbacks)
REQUEUED_ENV = "RNNLAB_REQUEUED"  # set in a requeued job: how many times it was requeued


def use_requeue_signal() -> str:
    """Make submitit signal jobs with SIGUSR1 (unless ``SUBMITIT_PREEMPT_SIGNAL`` says otherwise):
    in this process (SLURM's ``--signal`` option is written from it) and in the jobs, which
    inherit the environment. Returns the signal's name without ``SIG``."""
    name = os.environ.setdefault(PREEMPT_SIGNAL_ENV, REQUEUE_SIGNAL)
    from submitit.core.job_environment import JobEnvironment

    JobEnvironment.USR_SIG = name  # submitit read the variable when it was first imported
    return name


class _RequeueAware:
    """What rnnlab adds to a submitit launcher (mixed in before the plugin's class)."""

    attempt: int = 1  # 1 for a job as first submitted, +1 per requeue
    params: dict[str, Any]

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Any:
        name = use_requeue_signal()
        if isinstance(self, SlurmLauncher):  # clusters that do not export the environment too
            setup = [s for s in self.params.get("setup") or [] if PREEMPT_SIGNAL_ENV not in s]
            self.params["setup"] = [*setup, f"export {PREEMPT_SIGNAL_ENV}={name}"]
        return super().launch(job_overrides, initial_job_idx)  # type: ignore[misc]

    def __call__(self, *args: Any, **kwargs: Any) -> JobReturn:
        if self.attempt > 1:
            os.environ[REQUEUED_ENV] = str(self.attempt - 1)
        else:
            os.environ.pop(REQUEUED_ENV, None)
        return super().__call__(*args, **kwargs)  # type: ignore[misc]

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """What submitit resubmits when it requeues the job: the same job, marked requeued."""
        import submitit

        again = copy.copy(self)
        again.attempt = self.attempt + 1
        return submitit.helpers.DelayedSubmission(again, *args, **kwargs)


class RnnlabSlurmLauncher(_RequeueAware, SlurmLauncher):
    """``hydra/launcher=submitit_slurm``: one SLURM job per run, requeued and resumed at the time
    limit."""


class RnnlabLocalLauncher(_RequeueAware, LocalLauncher):
    """``hydra/launcher=submitit_local``: submitit's local executor (every job of the sweep at
    once, as subprocesses), with the same requeue behaviour as on SLURM."""
