"""Batches generated per ``(epoch, batch index)`` key, and a train loader that resumes mid-epoch.

Generated data needs no shuffling: :class:`EpochBatchSampler` yields ``(epoch, i)`` keys and the
dataset generates batch ``i`` of that epoch from the seed, so the data never depends on the
number of workers. :class:`ResumableTrainLoader` tells Lightning (which saves a loader's
``state_dict`` in checkpoints and restores it before iterating) how far the epoch had got, so a
run resumed from a mid-epoch checkpoint (SIGTERM/SIGUSR1) trains on exactly the batches it had
not trained on yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import DataLoader, Dataset, Sampler


class EpochBatchSampler(Sampler[tuple[int, int]]):
    """Yields ``(epoch, batch_index)`` keys; Lightning calls :meth:`set_epoch` every epoch."""

    def __init__(self, num_batches: int) -> None:
        self.num_batches = num_batches
        self.epoch = 0
        self._resume: tuple[int, int] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def resume_at(self, epoch: int, batches_done: int) -> None:
        """Skip the first ``batches_done`` batches the next time ``epoch`` is iterated."""
        self._resume = (epoch, batches_done)

    def _start(self) -> int:
        if self._resume is None:
            return 0
        epoch, done = self._resume
        self._resume = None
        return done if epoch == self.epoch and done < self.num_batches else 0

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for index in range(self._start(), self.num_batches):
            yield (self.epoch, index)

    def __len__(self) -> int:
        return self.num_batches


class ResumableTrainLoader(DataLoader):
    """A DataLoader over :class:`EpochBatchSampler` keys whose ``state_dict`` is the epoch and the
    number of batches trained on, as Lightning's progress reports them when it checkpoints."""

    def __init__(
        self,
        dataset: Dataset,
        num_batches: int,
        progress: Callable[[], tuple[int, int]],
        **kwargs: Any,
    ) -> None:
        super().__init__(dataset, sampler=EpochBatchSampler(num_batches), batch_size=None, **kwargs)
        self._progress = progress

    def state_dict(self) -> dict[str, int]:
        epoch, batches_done = self._progress()
        return {"epoch": epoch, "batches_done": batches_done}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.sampler.resume_at(state_dict["epoch"], state_dict["batches_done"])
