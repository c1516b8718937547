"""Progress lines for runs without a terminal (``nohup ... > job.log``, SLURM, CI).

A live progress bar draws nothing useful into a file, so without a terminal :class:`ProgressLog`
writes plain lines instead: one per epoch, and at most one every ``every_s`` seconds within an
epoch. For example::

    epoch 2/6 step 128/384 | train/loss 0.0412 | val/loss 0.0398 val/mse_per_frame 12.31 |
    512.3 samples/s | elapsed 0:01:02 | left ~0:02:10

(one line). Each goes to the console and, through the ``rnnlab.progress`` logger, to the run's
log file (``<run>/train.log``, written by Hydra's job logging).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar, Literal

import lightning as L
import torch
from lightning.pytorch.callbacks import Callback, Timer

from rnnlab.values import NON_NEGATIVE_NUMBER, Rule, one_of

log = logging.getLogger("rnnlab.progress")
WHEN = ("auto", "always", "never")


class ProgressLog(Callback):
    """Plain progress lines: epoch, step, mean training loss, validation metrics, samples/s,
    elapsed time and estimated time left.

    ``when``: ``auto`` (unless a progress bar draws in a terminal: standard output is not a
    terminal, or the bar is off), ``always`` or ``never``. ``every_s``: within an epoch, at most one
    line every so many seconds (``0``: after every batch); one line ends each epoch.
    """

    value_rules: ClassVar[dict[str, Rule]] = {
        "every_s": NON_NEGATIVE_NUMBER,
        "when": one_of(*WHEN),
    }

    def __init__(
        self, every_s: float = 60.0, when: Literal["auto", "always", "never"] = "auto"
    ) -> None:
        self.every_s = every_s
        self.when = when
        self.active = False
        self._started = self._last_line = 0.0
        self._start_step = 0
        self._validated = False
        self._window = _Window()  # since the last line
        self._epoch = _Window()  # since the epoch started

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        bar_in_terminal = sys.stdout.isatty() and trainer.progress_bar_callback is not None
        self.active = trainer.is_global_zero and (
            self.when == "always" or (self.when == "auto" and not bar_in_terminal)
        )
        self._started = self._last_line = time.perf_counter()
        self._start_step = trainer.global_step

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch = _Window()
        self._validated = False

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if not self.active:
            return
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if isinstance(loss, torch.Tensor):
            # Lightning divides the loss by accumulate_grad_batches before it reaches here
            loss = loss.detach() * trainer.accumulate_grad_batches
        else:
            loss = None
        size = batch_size(batch)
        self._window.add(loss, size)
        self._epoch.add(loss, size)
        now = time.perf_counter()
        last_batch = batch_idx + 1 >= trainer.num_training_batches
        if now - self._last_line >= self.every_s and not last_batch:
            where = f"batch {batch_idx + 1}/{_count(trainer.num_training_batches)} "
            self._write(trainer, where, self._window, {}, now)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validated = True

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.active:
            return
        val = {}
        if self._validated:
            val = {
                name: value
                for name, value in sorted(trainer.callback_metrics.items())
                if name.startswith("val/") and "baseline" not in name
            }
        self._write(trainer, "", self._epoch, val, time.perf_counter())

    def _write(
        self,
        trainer: L.Trainer,
        where: str,
        window: _Window,
        val: Mapping[str, Any],
        now: float,
    ) -> None:
        epochs = trainer.max_epochs if trainer.max_epochs not in (None, -1) else None
        epoch = f"epoch {trainer.current_epoch + 1}" + (f"/{epochs}" if epochs else "")
        total = trainer.estimated_stepping_batches
        step = f"step {trainer.global_step}" + (f"/{int(total)}" if total != float("inf") else "")
        parts = [f"{epoch} {where}{step}"]
        if window.batches and window.loss_sum is not None:
            parts.append(f"train/loss {float(window.loss_sum) / window.batches:.4g}")
        if val:
            parts.append(" ".join(f"{name} {float(value):.4g}" for name, value in val.items()))
        seconds = now - window.started
        if seconds > 0 and window.samples:
            parts.append(f"{window.samples / seconds:.1f} samples/s")
        elapsed = now - self._started
        parts.append(f"elapsed {_duration(elapsed)}")
        left = self._time_left(trainer, elapsed, total)
        if left is not None:
            parts.append(f"left ~{_duration(left)}")
        line = " | ".join(parts)
        if not _console_gets_log_records(log):
            print(line, flush=True)
        log.info(line)
        self._window = _Window()
        self._last_line = now

    def _time_left(self, trainer: L.Trainer, elapsed: float, total: float) -> float | None:
        """Seconds left at this attempt's pace, or until ``trainer.max_time`` if sooner."""
        done = trainer.global_step - self._start_step
        left = None
        if done > 0 and total != float("inf"):
            left = max(0.0, (total - trainer.global_step) * elapsed / done)
        for callback in trainer.callbacks:
            if isinstance(callback, Timer) and callback.time_remaining("train") is not None:
                remaining = max(0.0, callback.time_remaining("train"))
                left = remaining if left is None else min(left, remaining)
        return left


class _Window:
    """Training batches, samples and summed loss since ``started`` (the loss stays on its
    device until a line is written, so a GPU is not made to wait after every batch)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.batches = 0
        self.samples = 0
        self.loss_sum: torch.Tensor | None = None

    def add(self, loss: torch.Tensor | None, samples: int) -> None:
        self.samples += samples
        if loss is not None:
            self.batches += 1
            self.loss_sum = loss if self.loss_sum is None else self.loss_sum + loss


def batch_size(batch: Any) -> int:
    """Sequences in a batch: a dict's ``frames`` (or first tensor), or a tuple's first item."""
    if isinstance(batch, Mapping):
        first = batch.get("frames", next(iter(batch.values()), None))
    elif isinstance(batch, list | tuple) and batch:
        first = batch[0]
    else:
        first = batch
    return int(first.shape[0]) if isinstance(first, torch.Tensor) else 0


def _count(value: float) -> str:
    return str(int(value)) if value != float("inf") else "?"


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


def _console_gets_log_records(logger: logging.Logger) -> bool:
    """True when a handler of ``logger`` or its parents prints to the console already (e.g. a
    user's ``hydra/job_logging`` with a console handler), so a line is not printed twice."""
    current: logging.Logger | None = logger
    while current is not None:
        for handler in current.handlers:
            to_console = getattr(handler, "stream", None) in (sys.stdout, sys.stderr)
            if to_console and not isinstance(handler, logging.FileHandler):
                return True
        current = current.parent if current.propagate else None
    return False
