"""The one training sampler of every rnnlab source: an order fixed by ``(seed, epoch)``, this
process's share of it under DDP, and a position that checkpoints save so a resume continues it.

:class:`EpochSampler` yields dataset indices in an order that depends only on ``(seed, epoch)``
(Lightning calls :meth:`~EpochSampler.set_epoch` at every epoch start), so epoch 3 of a resumed
run reads the same order as epoch 3 of an uninterrupted one. Generated data (``moving_digits``)
does not shuffle: its dataset generates item ``epoch * len + i`` from the seed
(``offset_by_epoch=True``), so new data every epoch, whatever the number of workers.

:class:`ResumableLoader` is a plain ``DataLoader`` (same arguments, so Lightning can re-create it
with another sampler for ``overfit_batches``) whose ``state_dict`` is the epoch and the number of
batches trained on, as the Trainer's progress reports them. Lightning saves it in every checkpoint
and hands it back before the resumed epoch starts: the sampler then skips what was trained on, so a
run resumed from a mid-epoch checkpoint (SIGTERM/SIGUSR1) trains on exactly the batches it had not.

Under DDP the sampler takes this process's share itself (it is a ``DistributedSampler``, so
Lightning does not wrap it): every rank reads ``order[rank::world_size]``, padded like torch's
``DistributedSampler`` so every rank has as many batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sized
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler


def epoch_order(size: int, seed: int, epoch: int) -> list[int]:
    """A permutation of ``range(size)`` fixed by ``(seed, epoch)`` (independent across both)."""
    state = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
    return torch.randperm(size, generator=torch.Generator().manual_seed(state)).tolist()


def process_share() -> tuple[int, int]:
    """``(world_size, rank)`` of the running DDP process group, ``(1, 0)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


class EpochSampler(DistributedSampler):
    """Indices into ``dataset``: shuffled by ``(seed, epoch)`` (or in order), this rank's share.

    ``offset_by_epoch``: yield ``epoch * len(dataset) + i`` instead of ``i`` (for datasets that
    generate item ``i`` of each epoch anew). ``num_replicas``/``rank`` default to the running
    process group's (one process without DDP).
    """

    def __init__(
        self,
        dataset: Sized,
        seed: int = 0,
        shuffle: bool = True,
        offset_by_epoch: bool = False,
        num_replicas: int | None = None,
        rank: int | None = None,
    ) -> None:
        world, own = process_share()
        super().__init__(
            dataset,
            num_replicas=world if num_replicas is None else num_replicas,
            rank=own if rank is None else rank,
            shuffle=shuffle,
            seed=seed,
            drop_last=False,
        )
        self.offset_by_epoch = offset_by_epoch
        self._resume: tuple[int, int] | None = None

    def resume_at(self, epoch: int, done: int) -> None:
        """Skip the first ``done`` indices of this rank's share the next time ``epoch`` is read."""
        self._resume = (epoch, done)

    def _start(self) -> int:
        if self._resume is None:
            return 0
        epoch, done = self._resume
        self._resume = None
        return done if epoch == self.epoch and done < self.num_samples else 0

    def indices(self) -> list[int]:
        """This rank's share of the epoch's order: ``num_samples`` indices."""
        size = len(self.dataset)
        order = epoch_order(size, self.seed, self.epoch) if self.shuffle else list(range(size))
        padding = self.total_size - size  # every rank gets as many indices (torch's rule)
        order += (order * (padding // max(size, 1) + 1))[:padding]
        return order[self.rank : self.total_size : self.num_replicas]

    def __iter__(self) -> Iterator[int]:
        offset = self.epoch * len(self.dataset) if self.offset_by_epoch else 0
        return iter([offset + index for index in self.indices()[self._start() :]])

    def __len__(self) -> int:
        return self.num_samples


class ResumableLoader(DataLoader):
    """A ``DataLoader`` (the same arguments, plus ``progress``) whose ``state_dict`` says how far
    training had got, for its :class:`EpochSampler` to continue from there.

    ``progress()`` returns ``(epoch, batches trained on in it)``, ``(next epoch, 0)`` once an epoch
    is done; rnnlab's data modules pass their
    :meth:`~rnnlab.data.base.SequenceDataModule.training_progress`.
    """

    def __init__(
        self,
        dataset: Dataset,
        progress: Callable[[], tuple[int, int]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(dataset, **kwargs)
        self.progress = progress

    def state_dict(self) -> dict[str, int]:
        epoch, batches_done = self.progress() if self.progress else (0, 0)
        return {"epoch": epoch, "batches_done": batches_done}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Continue at batch ``batches_done`` of ``epoch`` (the next epoch when that one was
        done). Lightning calls this before it creates the resumed epoch's iterator (and so
        before it calls ``set_epoch``): the sampler's epoch is set here."""
        sampler = self.sampler
        if not isinstance(sampler, EpochSampler):  # Lightning's own (overfit_batches)
            return
        epoch, done = state_dict["epoch"], state_dict["batches_done"]
        if done >= len(self):
            epoch, done = epoch + 1, 0
        sampler.set_epoch(epoch)
        per_batch = self.batch_size or 1  # batch_size=None: the dataset's items are batches
        sampler.resume_at(epoch, done * per_batch)
