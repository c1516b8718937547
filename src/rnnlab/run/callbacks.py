"""Lightning callbacks rnnlab adds to every run."""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
import torch.distributed as dist
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.strategies.launchers import _MultiProcessingLauncher

from rnnlab.errors import TrainingError
from rnnlab.run.directory import last_checkpoint_path


class TrainThroughput(Callback):
    """Counts training sequences and seconds spent in ``fit``'s training loop (for run.json)."""

    def __init__(self) -> None:
        self.samples = 0
        self.seconds = 0.0
        self._started: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self.samples += int(batch["frames"].shape[0])

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None

    @property
    def samples_per_second(self) -> float | None:
        return self.samples / self.seconds if self.seconds > 0 else None


class RunConfigInCheckpoint(Callback):
    """Stores the task class and the run's resolved config (primitives) in every checkpoint.

    ``rnnlab-eval`` reads them back to rebuild the task and, by default, the data it trained on.
    """

    def __init__(self, config: dict[str, Any], choices: dict[str, Any]) -> None:
        self.config = config
        self.choices = choices

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        cls = type(pl_module)
        checkpoint["rnnlab"] = {
            "task_class": f"{cls.__module__}.{cls.__qualname__}",
            "config": self.config,
            "choices": self.choices,
        }


class FiniteLossGuard(Callback):
    """Stops training at the first non-finite training loss with a :class:`TrainingError`,
    before its backward pass: the weights never see it, and nothing is saved after it, so
    ``last.ckpt``/``best.ckpt`` hold the last good state."""

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        if not torch.isfinite(loss).all():
            progress = trainer.fit_loop.epoch_loop.batch_progress.current
            raise TrainingError(
                f"The training loss became {float(loss.detach())} at step {trainer.global_step} "
                f"(epoch {trainer.current_epoch}, batch {progress.ready - 1}). Training stopped; "
                "the last good checkpoint is kept in the run's checkpoints/ folder. Lower "
                "optimizer.lr, keep gradient clipping on (trainer.gradient_clip_val), or check "
                "the data for extreme values."
            )


class Interrupted(Exception):
    """Raised after SIGTERM/SIGUSR1 (once a checkpoint is saved, if training); ends the run.

    ``progress``: ``{"epochs": done, "steps": done}`` at the saved checkpoint, or ``None`` when
    nothing was saved (for run.json); ``unsaved`` says why nothing was.
    """

    def __init__(
        self,
        signum: int,
        checkpoint: str | None,
        progress: dict[str, int] | None = None,
        unsaved: str = "not training",
    ) -> None:
        self.signum = signum
        self.progress = progress
        name = signal.Signals(signum).name
        if checkpoint and progress:
            saved = f"saved {checkpoint} at step {progress['steps']}"
        else:
            saved = f"no new checkpoint ({unsaved})"
        super().__init__(
            f"received {name}; {saved}. Continue the run with rnnlab-resume <run dir> (or "
            "resume=true with the same run directory)."
        )


class SaveOnSignal(Callback):
    """On SIGTERM (and SIGUSR1, which SLURM sends before a time limit), save ``last.ckpt`` before
    the next training batch and stop with :class:`Interrupted` (exit code 128 + signal).

    Saving between two batches (the last one trained and logged, the next not started) lets a
    resumed run continue with exactly that next batch. A signal that arrives during fit's
    validation lets that validation finish (it closes the epoch just trained) and saves before
    the next batch; during test the run stops at the next test batch without saving (a resumed
    run redoes the test from the last checkpoint).

    Lightning installs its own SIGTERM handler each time a stage starts, *after* ``on_fit_start``,
    and raises ``SIGTERMException`` at the end of the current batch, before any hook of the next
    one could save. This callback therefore installs its handler again once the training loop
    has started (``on_train_start``) and when test starts, replacing Lightning's for the rest of
    the stage (Lightning restores the previous handlers when the stage ends). Like Lightning's, it
    forwards the signal to processes a launcher started; with several processes, all stop at the
    same batch.
    """

    SIGNALS = tuple(
        s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR1", None)) if s
    )

    def __init__(self, checkpoint_path: str | None) -> None:
        self.checkpoint_path = checkpoint_path  # None: checkpointing is off, stop without saving
        self.received: int | None = None
        self._trainer: L.Trainer | None = None
        self._saving = False  # True while this callback saves its own checkpoint

    def _handle(self, signum: int, frame: Any) -> None:
        first = self.received is None
        self.received = signum
        launcher = self._trainer.strategy.launcher if self._trainer is not None else None
        if first and launcher is not None:
            launcher.kill(signum)  # what Lightning's handler does for processes it started

    def _install(self, trainer: L.Trainer) -> None:
        self._trainer = trainer
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                signal.signal(signum, self._handle)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning composes this handler into its own when fit registers its handlers: a signal
        # while fit sets up or runs its sanity check is seen by both.
        self._install(trainer)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install(trainer)  # now replaces Lightning's handler, which fit has just installed

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install(trainer)

    def _stop_requested(self, trainer: L.Trainer) -> bool:
        received = self.received is not None
        if trainer.world_size > 1:  # every process stops at the same batch, or none does
            received = trainer.strategy.reduce_boolean_decision(received, all=False)
        return received

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._stop_requested(trainer):
            signum = self.received or signal.SIGTERM
            if self.checkpoint_path is None:
                raise Interrupted(signum, None, unsaved="trainer.enable_checkpointing=false")
            self._saving = True
            try:
                trainer.save_checkpoint(self.checkpoint_path)
            finally:
                self._saving = False
            progress = {"epochs": trainer.current_epoch, "steps": trainer.global_step}
            raise Interrupted(signum, self.checkpoint_path, progress)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if not self._saving or trainer.accumulate_grad_batches != 1:
            return  # a checkpoint of another callback (e.g. last.ckpt at the end of an epoch)
        # Lightning assumes a mid-epoch checkpoint comes from on_train_batch_end and counts one
        # more stepped batch when it restores one; ours is saved before the next batch starts,
        # so without this the resumed run would log every step one step late.
        checkpoint["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"] -= 1

    def _stop_without_saving(self) -> None:
        if self.received is not None:
            off = "trainer.enable_checkpointing=false" if self.checkpoint_path is None else None
            raise Interrupted(self.received, None, unsaved=off or "not training")

    def on_validation_batch_start(self, trainer: L.Trainer, *args: Any, **kwargs: Any) -> None:
        if trainer.sanity_checking:  # nothing trained yet: stop at once
            self._stop_without_saving()

    def on_test_batch_start(self, *args: Any, **kwargs: Any) -> None:
        self._stop_without_saving()


class RngStateInCheckpoint(Callback):
    """Saves the python/numpy/torch random states in checkpoints and restores them on resume, so
    dropout and other random draws continue exactly as in an uninterrupted run. When CUDA is in
    use, the states of every CUDA device are saved and restored too (dropout on a GPU draws from
    them, not from the CPU generator).

    A checkpoint saved between epochs is restored at once (Lightning then draws for the new
    epoch's data iterator, as the uninterrupted run did); one saved mid-epoch, or as a batch
    starts (:class:`SaveOnSignal`, also at an epoch's first batch, after that epoch's iterator
    was made), is restored just before the next training batch, where it was saved.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        numpy_state = np.random.get_state()
        progress = trainer.fit_loop.epoch_loop.batch_progress.current
        done = progress.completed
        in_a_batch = progress.ready > done  # saved as a batch starts, before it trains
        checkpoint["rnnlab_rng"] = {
            "python": random.getstate(),
            "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
            "torch": torch.get_rng_state(),
            # (key kept for older checkpoints) restore before the next batch, not at once
            "mid_epoch": 0 < done < trainer.num_training_batches or in_a_batch,
        }
        if _cuda_in_use():
            checkpoint["rnnlab_rng"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get("rnnlab_rng")
        if state is None:
            return
        if state["mid_epoch"]:
            self._pending = state
        else:
            _set_rng_state(state)

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self._pending is not None:
            _set_rng_state(self._pending)
            self._pending = None


def _set_rng_state(state: dict[str, Any]) -> None:
    version, keys, *rest = state["numpy"]
    random.setstate(_as_tuple(state["python"]))
    np.random.set_state((version, np.asarray(keys, dtype=np.uint32), *rest))
    torch.set_rng_state(state["torch"])
    cuda_states = state.get("cuda")
    if cuda_states and torch.cuda.is_available():
        # one state per device; a run resumed on fewer devices restores the ones it has
        count = min(len(cuda_states), torch.cuda.device_count())
        torch.cuda.set_rng_state_all(cuda_states[:count])


def _cuda_in_use() -> bool:
    """True when this process has initialised CUDA (so its generators hold real states).

    Asking an uninitialised CUDA for its states would initialise it (slow, and pointless for a
    CPU run on a machine that happens to have a GPU).
    """
    return torch.cuda.is_available() and torch.cuda.is_initialized()


def _as_tuple(state: Any) -> Any:
    """``random.getstate()`` comes back from a checkpoint with lists where it had tuples."""
    if isinstance(state, list):
        return tuple(_as_tuple(item) for item in state)
    return state


class EndSpawnedProcessGroup(Callback):
    """In a process that ``ddp_spawn`` started for one stage (``fit`` or ``test``), destroys the
    process group as the stage ends, while the process's Python is still fully alive.

    gloo's worker threads let go of a finished collective (its tensors, e.g. those of a metric's
    all_gather) after the caller has moved on, and releasing a tensor that Python knows takes the
    GIL. Left to the process's exit, a worker that gets there once the interpreter has begun to
    finalize is ended inside that release: ``terminate called without an active exception``
    (SIGABRT), and the stage fails. Destroying the group joins those threads first. Processes
    that other strategies start keep their group for fit and test (``trainer=ddp``); the run
    ends it after both (:func:`end_process_group`).
    """

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if isinstance(trainer.strategy.launcher, _MultiProcessingLauncher):
            end_process_group()


def end_process_group() -> None:
    """Destroy this process's process group (DDP), if it has one, so that gloo's worker threads
    are joined before the interpreter exits (see :class:`EndSpawnedProcessGroup`)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


@dataclass
class RunCallbacks:
    """The callbacks rnnlab adds to every training run (``all``), with handles on those whose
    state the run reports afterwards."""

    throughput: TrainThroughput
    all: list[Callback]


def run_callbacks(
    run_dir: Path, record_data: dict[str, Any], checkpointing: bool = True
) -> RunCallbacks:
    """rnnlab's own callbacks for a run in ``run_dir`` (``record_data``: its run.json fields).

    ``checkpointing=False`` (``trainer.enable_checkpointing=false``): a signal stops the run
    without saving a checkpoint."""
    throughput = TrainThroughput()
    return RunCallbacks(
        throughput=throughput,
        all=[
            throughput,
            RunConfigInCheckpoint(record_data["config"], record_data["choices"]),
            FiniteLossGuard(),
            SaveOnSignal(str(last_checkpoint_path(run_dir)) if checkpointing else None),
            RngStateInCheckpoint(),
        ],
    )
