"""Callbacks that record what a run did, for tests to check (used via ``_target_`` and
PYTHONPATH)."""

from __future__ import annotations

import atexit
import hashlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback


class BatchFingerprints(Callback):
    """Appends ``<epoch> <sha1 of the batch's frames>`` for every training batch this process
    trains on to ``<folder>/batches_rank<global rank>.txt``."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        frames = batch["frames"].detach().cpu().contiguous()
        digest = hashlib.sha1(frames.numpy().tobytes()).hexdigest()
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"batches_rank{trainer.global_rank}.txt", "a") as out:
            out.write(f"{trainer.current_epoch} {digest}\n")


class ThreadsAtExit(Callback):
    """In every process that runs a stage, writes ``<native threads> <group>`` to
    ``<folder>/<fit|test|...>_rank<global rank>.txt`` as the process exits (atexit, before the
    interpreter finalizes): how many of its threads Python does not know (e.g. gloo's workers;
    counted from Linux's /proc) and whether its process group is still initialized."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{getattr(stage, 'value', stage)}_rank{trainer.global_rank}.txt"
        atexit.register(_write_threads, self.folder / name)


def _native_threads() -> int:
    return len(os.listdir("/proc/self/task")) - threading.active_count()


def _write_threads(path: Path) -> None:
    import torch.distributed as dist

    # a thread Python has just joined can take a moment to leave /proc: look again a few times
    for _ in range(50):
        if _native_threads() == 0:
            break
        time.sleep(0.1)
    path.write_text(f"{_native_threads()} {dist.is_available() and dist.is_initialized()}\n")
