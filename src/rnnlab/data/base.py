"""The LightningDataModule base of rnnlab's own sources: a declared :class:`DataSpec`, one
resumable training loader, plain validation/test loaders.

Every batch is a dict: ``frames (B, T, C, H, W)`` (``uint8`` in 0..255, scaled to float32 in
[0, 1] by the task once on the device, which moves 4x fewer bytes; or float32 in [0, 1]) and, for
labelled data, ``labels`` of shape ``(B, T)`` (per-frame labels) or ``(B,)`` (per-sequence labels),
int64. A user's plain LightningDataModule needs none of this: :mod:`rnnlab.data.spec` infers its
spec from a batch.
"""

from __future__ import annotations

from typing import Any, ClassVar

import lightning as L
from lightning.pytorch.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader, Dataset

from rnnlab.data.sampling import EpochSampler, ResumableLoader
from rnnlab.data.spec import DataSpec, LabelLevel, frames_to_float
from rnnlab.values import NON_NEGATIVE_INT, POSITIVE_INT, Rule

__all__ = ["DataSpec", "LabelLevel", "SequenceDataModule", "frames_to_float"]


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
            # pinned pages only help copies to a CUDA device this run trains on
            "pin_memory": self.trainer is not None
            and isinstance(self.trainer.accelerator, CUDAAccelerator),
        }

    def train_loader(
        self, dataset: Dataset, seed: int, offset_by_epoch: bool = False, **kwargs: Any
    ) -> ResumableLoader:
        """The training DataLoader over ``dataset``: a new order every epoch, fixed by ``seed`` and
        the epoch, resumable mid-epoch (:mod:`rnnlab.data.sampling`). ``kwargs`` go to the
        DataLoader (``collate_fn``, ``batch_size=None`` for datasets whose items are batches)."""
        sampler = EpochSampler(
            dataset, seed=seed, shuffle=not offset_by_epoch, offset_by_epoch=offset_by_epoch
        )
        # Lightning creates the first iterator before its first set_epoch call, and a run resumed
        # between two epochs gets no loader state back: start at the epoch the Trainer is at.
        sampler.set_epoch(self.epoch_to_train())
        return ResumableLoader(
            dataset,
            progress=self.training_progress,
            sampler=sampler,
            **{"batch_size": self.batch_size, **kwargs},
            **self.loader_kwargs(),
        )

    def eval_loader(self, dataset: Dataset, **kwargs: Any) -> DataLoader:
        """A validation/test DataLoader over ``dataset``, in order."""
        return DataLoader(dataset, batch_size=self.batch_size, **kwargs, **self.loader_kwargs())

    def epoch_to_train(self) -> int:
        """The epoch the attached Trainer trains next (0 without one): the value it passes to
        ``set_epoch``."""
        trainer = self.trainer
        return trainer.fit_loop.epoch_progress.current.processed if trainer is not None else 0

    def training_progress(self) -> tuple[int, int]:
        """``(epoch, training batches done in it)`` as the attached Trainer's loop reports them;
        ``(next epoch, 0)`` once the epoch's batches (``limit_train_batches`` of them) are done."""
        trainer = self.trainer
        if trainer is None:
            return (0, 0)
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if done >= trainer.num_training_batches:
            return (trainer.current_epoch + 1, 0)
        return (trainer.current_epoch, done)
