"""The shape every data source delivers, and the LightningDataModule base they share.

Every batch is a dict: ``frames (B, T, C, H, W)`` float32 in [0, 1] once on the device (sources may
hand ``uint8`` frames to the DataLoader; :meth:`SequenceDataModule.on_after_batch_transfer` scales
them after the transfer, which moves 4x fewer bytes), and for labelled data ``labels`` of shape
``(B, T)`` (per-frame labels) or ``(B,)`` (per-sequence labels), int64.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from rnnlab.values import NON_NEGATIVE_INT, POSITIVE_INT, Rule

LabelLevel = Literal["per_frame", "per_sequence"]


@dataclass(frozen=True)
class DataSpec:
    """What a task needs to know about the data to build itself, as primitives.

    ``label_level`` is ``"per_frame"`` when labels are ``(B, T)``, ``"per_sequence"`` when they are
    ``(B,)``, ``None`` for unlabelled data; ``num_classes`` is ``None`` for unlabelled data.
    ``source`` names the file or folder the sequences come from (``None`` for generated data), so
    that messages about the data can point at it.
    """

    channels: int
    height: int
    width: int
    seq_len: int
    num_classes: int | None = None
    label_level: LabelLevel | None = None
    source: str | None = None

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return (self.channels, self.height, self.width)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def frames_to_float(frames: torch.Tensor) -> torch.Tensor:
    """``uint8`` frames in 0..255 to float32 in [0, 1]; float frames pass through as float32."""
    if frames.dtype == torch.uint8:
        return frames.float().div_(255.0)
    return frames.float()


class SequenceDataModule(L.LightningDataModule):
    """Base of rnnlab's data modules: holds ``batch_size``/``num_workers``, exposes :attr:`spec`.

    Subclasses describe their batches in ``spec``. rnnlab reads ``spec`` before training starts,
    so a source that reads files loads and checks them there (or in ``__init__``): bad input then
    stops the run with a :class:`~rnnlab.errors.DataError` before any training.
    """

    value_rules: ClassVar[dict[str, Rule]] = {
        "batch_size": POSITIVE_INT,
        "num_workers": NON_NEGATIVE_INT,
    }

    def __init__(self, batch_size: int, num_workers: int = 0) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.num_workers = num_workers

    @property
    def spec(self) -> DataSpec:
        raise NotImplementedError

    def loader_kwargs(self) -> dict[str, Any]:
        """Keyword arguments shared by every DataLoader of this module."""
        workers = self.num_workers
        return {
            "num_workers": workers,
            "persistent_workers": workers > 0,
            "pin_memory": torch.cuda.is_available(),
        }

    def seeded_loader(
        self, dataset: Dataset, shuffle: bool, seed: int, **kwargs: Any
    ) -> DataLoader:
        """A DataLoader over ``dataset``; shuffled, it takes a new order every epoch and the same
        orders for the same ``seed``."""
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(seed) if shuffle else None,
            **kwargs,
            **self.loader_kwargs(),
        )

    def training_progress(self) -> tuple[int, int]:
        """``(epoch, training batches done in it)`` as the attached Trainer's loop reports them."""
        trainer = self.trainer
        if trainer is None:
            return (0, 0)
        return (trainer.current_epoch, trainer.fit_loop.epoch_loop.batch_progress.current.processed)

    def on_after_batch_transfer(self, batch: dict, dataloader_idx: int) -> dict:
        batch["frames"] = frames_to_float(batch["frames"])
        return batch
