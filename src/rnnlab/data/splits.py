"""Sources whose sequences live in arrays: checked, split into train/val/test, read batch by batch.

:class:`ArraySplitsDataModule` is the base of the ``arrays`` and ``frames_dir`` sources. A subclass
loads a main :class:`SequenceArray` and, optionally, separate arrays for ``val`` / ``test``; a split
without its own array takes its fraction of the main array's sequences (a fixed permutation from
``split_seed``, so the splits do not change with the run's seed). Batches are read from the arrays
one batch at a time, so memory-mapped files are never read whole.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rnnlab.data.base import DataSpec, LabelLevel, SequenceDataModule
from rnnlab.data.readers.checks import check_frames, check_label_range, check_labels
from rnnlab.errors import ConfigError, DataError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SequenceArray:
    """Sequences stored in one array (possibly memory-mapped) in ``layout``, optionally labelled.

    ``labels`` are ``(N,)`` (per sequence) or ``(N, T)`` (per frame) integers; ``source`` and
    ``labels_source`` name where frames and labels come from, for messages. Build it with
    :meth:`checked`.
    """

    frames: np.ndarray
    layout: str
    source: str
    labels: np.ndarray | None = None
    labels_source: str | None = None

    @classmethod
    def checked(
        cls,
        frames: np.ndarray,
        layout: str,
        source: str,
        labels: np.ndarray | None = None,
        labels_source: str | None = None,
    ) -> SequenceArray:
        """The array after checking its frames and labels (:mod:`rnnlab.data.readers.checks`)."""
        check_frames(frames, layout, source)
        array = cls(frames, layout, source, labels, labels_source or source)
        if labels is not None:
            check_labels(labels, array.num_sequences, array.seq_len, array.labels_source)
        return array

    def __reduce__(self) -> tuple:
        """Pickled with a memory-mapped file by its name (DataLoader workers started with spawn or
        forkserver map the file again rather than receive a copy of it)."""
        frames = self.frames
        mapped = None
        if isinstance(frames, np.memmap) and isinstance(frames.base, mmap.mmap):  # a whole file
            order = "F" if frames.flags.f_contiguous and not frames.flags.c_contiguous else "C"
            mapped = (frames.filename, frames.dtype, frames.shape, frames.offset, order)
            frames = None
        fields = (frames, self.layout, self.source, self.labels, self.labels_source)
        return (_rebuild_sequence_array, (mapped, *fields))

    def _size(self, axis: str) -> int:
        return self.frames.shape[self.layout.index(axis)] if axis in self.layout else 1

    @property
    def num_sequences(self) -> int:
        return self._size("N")

    @property
    def seq_len(self) -> int:
        return self._size("T")

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return (self._size("C"), self._size("H"), self._size("W"))

    @property
    def label_level(self) -> LabelLevel | None:
        if self.labels is None:
            return None
        return "per_sequence" if self.labels.ndim == 1 else "per_frame"

    def read(self, rows: np.ndarray) -> np.ndarray:
        """Sequences ``rows`` (sorted indices) as ``(B, T, C, H, W)``, uint8 or float32."""
        index: list[slice | np.ndarray] = [slice(None)] * self.frames.ndim
        index[self.layout.index("N")] = rows
        frames, layout = self.frames[tuple(index)], self.layout
        if "C" not in layout:
            frames, layout = frames[..., None], layout + "C"
        frames = frames.transpose([layout.index(axis) for axis in "NTCHW"])  # (B, T, C, H, W)
        dtype = np.uint8 if frames.dtype == np.uint8 else np.float32
        return np.ascontiguousarray(frames, dtype=dtype)


def _rebuild_sequence_array(
    mapped: tuple | None, frames: np.ndarray | None, *fields
) -> SequenceArray:
    if mapped is not None:
        filename, dtype, shape, offset, order = mapped
        frames = np.memmap(filename, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
    return SequenceArray(frames, *fields)


class SplitSequences(Dataset):
    """Sequences ``rows`` of a :class:`SequenceArray`.

    The DataLoader fetches a batch with one :meth:`__getitems__` call: ``frames (B, T, C, H, W)``
    (uint8 or float32) and, for labelled data, ``labels`` ``(B,)`` or ``(B, T)`` int64.
    """

    def __init__(self, array: SequenceArray, rows: np.ndarray) -> None:
        self.array = array
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitems__(self, positions: list[int]) -> dict[str, torch.Tensor]:
        rows = np.sort(self.rows[np.asarray(positions)])  # sorted: sequential reads from the file
        batch = {"frames": torch.from_numpy(self.array.read(rows))}
        if self.array.labels is not None:
            batch["labels"] = torch.from_numpy(self.array.labels[rows].astype(np.int64))
        return batch

    def __getitem__(self, position: int) -> dict[str, torch.Tensor]:
        return {name: value[0] for name, value in self.__getitems__([position]).items()}


def keep_batch(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``collate_fn`` for :class:`SplitSequences`, whose batches come ready."""
    return batch


def split_rows(num_sequences: int, fractions: dict[str, float], seed: int) -> dict[str, np.ndarray]:
    """Sorted sequence indices per split: each of ``fractions`` gets its share of a permutation
    fixed by ``seed``, ``train`` the rest."""
    order = np.random.default_rng(seed).permutation(num_sequences)
    rows, start = {}, 0
    for name, fraction in fractions.items():
        count = round(num_sequences * fraction)
        rows[name] = np.sort(order[start : start + count])
        start += count
    rows["train"] = np.sort(order[start:])
    return rows


def check_fractions(fractions: dict[str, float]) -> None:
    """Split fractions in [0, 1) that leave some sequences for training."""
    for name, fraction in fractions.items():
        if not 0 <= fraction < 1:
            raise ConfigError(f"data.{name}_fraction={fraction} is not a fraction in [0, 1).")
    if sum(fractions.values()) >= 1:
        listed = " + ".join(f"data.{name}_fraction" for name in fractions)
        raise ConfigError(f"{listed} = {sum(fractions.values()):g} leaves no training sequences.")


@dataclass(frozen=True)
class Split:
    """The sequences ``rows`` of ``array`` that make one split."""

    array: SequenceArray
    rows: np.ndarray


class ArraySplitsDataModule(SequenceDataModule):
    """Base of array-backed sources: loads and checks everything when :attr:`spec` is first read
    (before training starts), then serves batches ``frames (B, T, C, H, W)`` (+ ``labels``).

    Subclasses implement :meth:`load_arrays`.
    """

    def __init__(
        self,
        num_classes: int | None,
        val_fraction: float,
        test_fraction: float,
        split_seed: int,
        seed: int,
        batch_size: int,
        num_workers: int,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        check_fractions({"val": val_fraction, "test": test_fraction})
        self.num_classes = num_classes
        self._classes: int | None = None  # num_classes, or the largest label + 1
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction
        self.split_seed = split_seed
        self.seed = seed
        self._splits: dict[str, Split] | None = None

    def load_arrays(self) -> tuple[SequenceArray, dict[str, SequenceArray]]:
        """The main array, and the arrays of the splits (``val``/``test``) with their own file."""
        raise NotImplementedError

    @property
    def splits(self) -> dict[str, Split]:
        """``train`` / ``val`` / ``test``, loaded and checked on first use."""
        if self._splits is None:
            self._splits = self._build_splits()
        return self._splits

    def _build_splits(self) -> dict[str, Split]:
        main, separate = self.load_arrays()
        fractions = {
            name: getattr(self, f"{name}_fraction")
            for name in ("val", "test")
            if name not in separate
        }
        rows = split_rows(main.num_sequences, fractions, self.split_seed)
        splits = {name: Split(main, part) for name, part in rows.items()}
        splits.update({name: Split(a, np.arange(a.num_sequences)) for name, a in separate.items()})
        for name in SPLITS:
            if len(splits[name].rows) == 0:
                raise DataError(self._empty_split_message(name, main))
        for array in separate.values():
            check_compatible(main, array)
        self._classes = self._count_classes([main, *separate.values()])
        return {name: splits[name] for name in SPLITS}

    def _empty_split_message(self, name: str, main: SequenceArray) -> str:
        n = main.num_sequences
        if name == "train":
            return f"The train split is empty: {main.source} has {n} sequences, all in val/test."
        fraction = getattr(self, f"{name}_fraction")
        return (
            f"The {name} split is empty: data.{name}_fraction={fraction} of the {n} sequences in "
            f"{main.source} is 0 sequences. Raise data.{name}_fraction, or give the {name} "
            f"sequences their own file with data.{name}_path."
        )

    def _count_classes(self, arrays: list[SequenceArray]) -> int | None:
        """``num_classes`` after checking every label is below it, or the largest label + 1."""
        labelled = [a for a in arrays if a.labels is not None]
        if not labelled:
            return None
        if self.num_classes is None:
            return max(int(a.labels.max()) for a in labelled) + 1
        for array in labelled:
            check_label_range(array.labels, self.num_classes, array.labels_source)
        return self.num_classes

    @property
    def spec(self) -> DataSpec:
        train = self.splits["train"].array
        channels, height, width = train.frame_shape
        return DataSpec(
            channels=channels,
            height=height,
            width=width,
            seq_len=train.seq_len,
            num_classes=self._classes,
            label_level=train.label_level,
            source=train.source,
        )

    def _dataset(self, split: str) -> SplitSequences:
        part = self.splits[split]
        return SplitSequences(part.array, part.rows)

    def train_dataloader(self) -> DataLoader:
        return self.train_loader(self._dataset("train"), self.seed, collate_fn=keep_batch)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader(self._dataset("val"), collate_fn=keep_batch)

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader(self._dataset("test"), collate_fn=keep_batch)


def check_compatible(main: SequenceArray, other: SequenceArray) -> None:
    """A separate split's array has the main array's frame shape, length and kind of labels."""
    found = (other.frame_shape, other.seq_len, other.label_level)
    expected = (main.frame_shape, main.seq_len, main.label_level)
    if found != expected:
        raise DataError(
            f"{other.source} holds sequences of {other.seq_len} frames of (C, H, W) = "
            f"{other.frame_shape} with labels {other.label_level or 'none'}; expected them like "
            f"{main.source}: {main.seq_len} frames of {main.frame_shape} with labels "
            f"{main.label_level or 'none'}."
        )
