"""Components that fail or stop on purpose, to test how runs fail and stop (used through
``model._target_``/``+callbacks.<name>._target_`` and PYTHONPATH)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import Callback

from rnnlab.models.cells import DenseCore


class NanAfterCore(DenseCore):
    """An LSTM core whose outputs turn NaN from its ``nan_after``-th training forward call on."""

    def __init__(self, input_size: int, hidden_size: int, nan_after: int) -> None:
        super().__init__("lstm", input_size, hidden_size)
        self.nan_after = nan_after
        self.training_calls = 0

    def forward(self, x: torch.Tensor, state: Any = None) -> tuple[torch.Tensor, Any]:
        outputs, state = super().forward(x, state)
        if self.training:
            self.training_calls += 1
            if self.training_calls > self.nan_after:
                outputs = outputs * float("nan")
        return outputs, state


class PauseAtStep(Callback):
    """Once training reaches ``step`` (optimizer steps done), write ``step`` to the file
    ``announce`` and wait until SIGTERM or SIGUSR1 arrives: a test sends it at that exact step.

    Waits in ``on_train_batch_end`` of the batch that made the step, after it trained and before
    the next one starts. The signal goes to whatever handler is installed (the run's own); this
    callback only watches it arrive, so it cannot miss one sent before it starts waiting.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGUSR1)

    def __init__(self, step: int, announce: str) -> None:
        self.step = step
        self.announce = announce

    def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
        if trainer.global_step != self.step:
            return
        self.step = -1  # once
        arrived: list[int] = []
        handlers = {signum: signal.getsignal(signum) for signum in self.SIGNALS}

        def watch(signum: int, frame: Any) -> None:
            arrived.append(signum)
            handler = handlers[signum]
            if callable(handler):
                handler(signum, frame)

        for signum in self.SIGNALS:
            signal.signal(signum, watch)
        Path(self.announce).write_text(str(trainer.global_step))
        while not arrived:
            time.sleep(0.005)  # python runs signal handlers between these sleeps
        for signum, handler in handlers.items():
            signal.signal(signum, handler)


class SignalAtStep(Callback):
    """Sends the signal ``name`` (SIGUSR1, SIGTERM) to its own process once training reaches
    ``step``, in an attempt that did not resume from a checkpoint: what SLURM does before a time
    limit, at a step the test knows. Add it with ``+callbacks.signal_at_step=...``."""

    def __init__(self, step: int, name: str = "SIGUSR1") -> None:
        self.step = step
        self.signum = getattr(signal, name)

    def on_train_batch_end(self, trainer: Any, *args: Any, **kwargs: Any) -> None:
        if trainer.global_step == self.step and trainer.ckpt_path is None:
            os.kill(os.getpid(), self.signum)
