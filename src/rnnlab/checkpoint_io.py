"""Checkpoints written atomically: a run killed while saving never leaves a truncated file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes ``<path>.tmp``, then renames it over ``<path>`` (same folder: an atomic rename)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None
    ) -> None:
        target = Path(path)
        temporary = target.with_name(target.name + ".tmp")
        super().save_checkpoint(checkpoint, temporary, storage_options)
        os.replace(temporary, target)
