"""Lightning callbacks rnnlab adds to every run."""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback


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
