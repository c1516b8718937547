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
from lightning.pytorch.callbacks import Callback

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
    """Raised after SIGTERM/SIGUSR1 (once a checkpoint is saved, if training); ends the run."""

    def __init__(self, signum: int, checkpoint: str | None, unsaved: str = "not training") -> None:
        self.signum = signum
        name = signal.Signals(signum).name
        saved = f"saved {checkpoint}" if checkpoint else f"no new checkpoint ({unsaved})"
        super().__init__(
            f"received {name}; {saved}. Continue the run with rnnlab-resume <run dir> (or "
            "resume=true with the same run directory)."
        )


class SaveOnSignal(Callback):
    """On SIGTERM (and SIGUSR1, which SLURM sends before a time limit), save ``last.ckpt`` before
    the next training batch and stop with :class:`Interrupted` (exit code 128 + signal).

    Saving between two batches (the last one trained and logged, the next not started) lets a
    resumed run continue with exactly that next batch. During validation or test it stops at the
    next batch without saving (a resumed run redoes that stage from the last checkpoint).
    The handler replaces Lightning's own SIGTERM handling, which would exit with status 0.
    """

    SIGNALS = tuple(
        s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR1", None)) if s
    )

    def __init__(self, checkpoint_path: str | None) -> None:
        self.checkpoint_path = checkpoint_path  # None: checkpointing is off, stop without saving
        self.received: int | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum

    def _install(self) -> None:
        # Lightning installs its handlers when a stage starts and restores the previous ones
        # when it ends; these hooks run in between.
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                signal.signal(signum, self._handle)

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install()

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._install()

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        if self.received is not None:
            if self.checkpoint_path is None:
                self._stop_without_saving()
            trainer.save_checkpoint(self.checkpoint_path)
            raise Interrupted(self.received, self.checkpoint_path)

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if self.received is None or trainer.accumulate_grad_batches != 1:
            return
        # Lightning assumes a mid-epoch checkpoint comes from on_train_batch_end and counts one
        # more stepped batch when it restores one; ours is saved before the next batch starts,
        # so without this the resumed run would log every step one step late.
        checkpoint["loops"]["fit_loop"]["epoch_loop.state_dict"]["_batches_that_stepped"] -= 1

    def _stop_without_saving(self) -> None:
        if self.received is not None:
            off = "trainer.enable_checkpointing=false" if self.checkpoint_path is None else None
            raise Interrupted(self.received, None, off or "not training")

    def on_validation_batch_start(self, *args: Any, **kwargs: Any) -> None:
        self._stop_without_saving()

    def on_test_batch_start(self, *args: Any, **kwargs: Any) -> None:
        self._stop_without_saving()


class RngStateInCheckpoint(Callback):
    """Saves the python/numpy/torch random states in checkpoints and restores them on resume, so
    dropout and other random draws continue exactly as in an uninterrupted run.

    A checkpoint saved between epochs is restored at once (Lightning then draws for the new
    epoch's data iterator, as the uninterrupted run did); one saved mid-epoch is restored just
    before the next training batch, where it was saved.
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        numpy_state = np.random.get_state()
        done = trainer.fit_loop.epoch_loop.batch_progress.current.completed
        checkpoint["rnnlab_rng"] = {
            "python": random.getstate(),
            "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
            "torch": torch.get_rng_state(),
            "mid_epoch": 0 < done < trainer.num_training_batches,
        }

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


def _as_tuple(state: Any) -> Any:
    """``random.getstate()`` comes back from a checkpoint with lists where it had tuples."""
    if isinstance(state, list):
        return tuple(_as_tuple(item) for item in state)
    return state


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
