"""Checkpoints that become visible only when they are complete and the logs up to them are on disk.

Lightning saves a checkpoint at the end of validation, and logs the training epoch's metrics
after that. A run killed in between would leave a checkpoint whose step's metrics never reach
TensorBoard, and a resumed run does not log them again. :class:`CommittedCheckpointIO` therefore
writes each checkpoint to ``<path>.tmp``, and :class:`CommitCheckpoints` flushes the loggers and
renames the pending files into place (an atomic rename) when the next epoch starts, when
training ends or stops, so ``last.ckpt`` always marks a point the logs are complete up to, and a
run killed while saving never leaves a truncated checkpoint. Outside the training loop (e.g. the
weights ``ddp_spawn`` hands from its worker back to the main process after ``fit``) a checkpoint
is written to a temporary file and renamed into place at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.plugins.io import TorchCheckpointIO


class CommittedCheckpointIO(TorchCheckpointIO):
    """Saves to ``<path>.tmp``; :meth:`commit` renames pending files over their targets."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: dict[Path, Path] = {}
        self.deferred = False  # True while training: commit when the logs have caught up

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        target = Path(path)
        temporary = target.with_name(target.name + ".tmp")
        super().save_checkpoint(checkpoint, temporary, storage_options)
        if self.deferred:
            self.pending[target] = temporary
        else:
            os.replace(temporary, target)

    def remove_checkpoint(self, path: _PATH) -> None:
        target = Path(path)
        temporary = self.pending.pop(target, None)
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        if target.exists():
            super().remove_checkpoint(path)

    def commit(self) -> None:
        for target, temporary in self.pending.items():
            os.replace(temporary, target)
        self.pending.clear()


class CommitCheckpoints(Callback):
    """Flushes the loggers, then commits pending checkpoints, at the points where the logs are
    complete up to the last checkpoint: a new epoch's start, the end of training, an error."""

    def __init__(self, io: CommittedCheckpointIO) -> None:
        self.io = io

    def _commit(self, trainer: L.Trainer) -> None:
        if not self.io.pending:
            return
        for logger in trainer.loggers:
            logger.save()
            experiment = getattr(logger, "experiment", None)
            if hasattr(experiment, "flush"):
                experiment.flush()
        self.io.commit()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.io.deferred = True

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._commit(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._commit(trainer)
        self.io.deferred = False

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._commit(trainer)
        self.io.deferred = False
