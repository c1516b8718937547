"""Callbacks that record what a run did, for tests to check (used via ``_target_`` and
PYTHONPATH)."""

from __future__ import annotations

import hashlib
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
