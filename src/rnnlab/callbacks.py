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
    """Stops training at the first non-finite training loss with a :class:`TrainingError`.

    Nothing is saved after the bad step, so ``last.ckpt``/``best.ckpt`` hold the last good state.
    """

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is not None and not torch.isfinite(loss).all():
            raise TrainingError(
                f"The training loss became {float(loss.detach())} at step {trainer.global_step} "
                f"(epoch {trainer.current_epoch}, batch {batch_idx}). Training stopped; the last "
                "good checkpoint is kept in the run's checkpoints/ folder. Lower optimizer.lr, "
                "keep gradient clipping on (trainer.gradient_clip_val), or check the data for "
                "extreme values."
            )


class FlushLoggersOnCheckpoint(Callback):
    """Flushes the loggers whenever a checkpoint is saved, so a run killed later loses no event
    that precedes its last checkpoint (resume continues from exactly there)."""

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        for logger in trainer.loggers:
            logger.save()
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "flush"):
                experiment.flush()


class Interrupted(Exception):
    """Raised after a checkpoint was saved on SIGTERM/SIGUSR1; ends the run (status interrupted)."""

    def __init__(self, signum: int, checkpoint: str) -> None:
        self.signum = signum
        self.checkpoint = checkpoint
        name = signal.Signals(signum).name
        super().__init__(
            f"received {name}; saved {checkpoint}. Resume with rnnlab-resume <run dir> "
            "(or resume=true with the same run directory)."
        )


class SaveOnSignal(Callback):
    """On SIGTERM (and SIGUSR1, which SLURM sends before a time limit), save ``last.ckpt`` after
    the current training batch and stop with :class:`Interrupted`."""

    SIGNALS = tuple(
        s
        for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGUSR1", None))
        if s is not None
    )

    def __init__(self, checkpoint_path: str) -> None:
        self.checkpoint_path = checkpoint_path
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        self.received = signum

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._restore()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.received is not None:
            trainer.save_checkpoint(self.checkpoint_path)
            raise Interrupted(self.received, self.checkpoint_path)


class RngStateInCheckpoint(Callback):
    """Saves the python/numpy/torch random states in checkpoints and restores them on resume, so
    dropout and other random draws continue as in an uninterrupted run."""

    def state_dict(self) -> dict[str, Any]:
        numpy_state = np.random.get_state()
        return {
            "python": random.getstate(),
            "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]],
            "torch": torch.get_rng_state(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        version, keys, *rest = state_dict["numpy"]
        random.setstate(_as_tuple(state_dict["python"]))
        np.random.set_state((version, np.asarray(keys, dtype=np.uint32), *rest))
        torch.set_rng_state(state_dict["torch"])


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


def run_callbacks(run_dir: Path, record_data: dict[str, Any]) -> RunCallbacks:
    """rnnlab's own callbacks for a run in ``run_dir`` (``record_data``: its run.json fields)."""
    throughput = TrainThroughput()
    return RunCallbacks(
        throughput=throughput,
        all=[
            throughput,
            RunConfigInCheckpoint(record_data["config"], record_data["choices"]),
            FiniteLossGuard(),
            FlushLoggersOnCheckpoint(),
            SaveOnSignal(str(run_dir / "checkpoints" / "last.ckpt")),
            RngStateInCheckpoint(),
        ],
    )
