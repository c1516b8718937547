"""rnnlab's submitit launchers for Hydra: ``hydra/launcher=submitit_slurm`` and ``submitit_local``.

They are hydra-submitit-launcher's own launchers with two changes, so that a job stopped by its
time limit (or preempted) is requeued and continues its run from ``last.ckpt``:

- SLURM (and the local executor) send **SIGUSR1** before the time limit, the signal on which
  every rnnlab run saves ``last.ckpt`` at the exact step; once saved, the job hands the signal to
  submitit, which requeues it (``hydra.launcher.max_num_timeout`` times at most).
- A requeued job is marked as one (``RNNLAB_REQUEUED``), so ``rnnlab-train`` continues the run
  in its run directory as ``resume=true`` would, instead of refusing a directory that holds a run.

The config files are ``conf/hydra/launcher/submitit_{slurm,local}.yaml``. Hydra imports every
module of the ``hydra_plugins`` namespace when it looks for plugins: keep this one light (submitit
is imported when jobs are launched).
"""
