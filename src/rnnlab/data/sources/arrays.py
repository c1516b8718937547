"""The user's own sequences from ``.npy`` / ``.npz`` files (``data=arrays``).

Frames are ``(N, T, H, W)``, ``(N, T, H, W, C)``, ``(N, T, C, H, W)`` or ``(T, N, H, W)`` (the
layout of Moving MNIST's ``mnist_test_seq.npy``), uint8 (0..255, scaled to [0, 1] on the device)
or float (in [0, 1]). ``.npy`` files are memory-mapped: a batch reads only its own sequences, so
files larger than memory work. ``.npz`` members are read into memory. Files are always loaded with
``allow_pickle=False``: a data file can never run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from rnnlab.data.readers.checks import LAYOUTS
from rnnlab.data.splits import ArraySplitsDataModule, SequenceArray
from rnnlab.errors import ConfigError, DataError

NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"
PICKLE_PROTOCOL_OPCODE = b"\x80"
PICKLED_HINT = (
    "rnnlab loads data with allow_pickle=False, because unpickling a file can run arbitrary code. "
    "Save plain numeric arrays instead (np.save(path, np.asarray(frames, dtype=np.uint8)))."
)


def _file_kind(path: Path, what: str) -> str:
    """``npy``, ``npz`` or ``pickle``, from the file's first bytes."""
    try:
        with path.open("rb") as stream:
            head = stream.read(len(NPY_MAGIC))
    except FileNotFoundError:
        raise DataError(f"{what} {path} does not exist. Check the path.") from None
    except IsADirectoryError:
        raise DataError(f"{what} {path} is a folder; expected a .npy or .npz file.") from None
    if head.startswith(NPY_MAGIC):
        return "npy"
    if head.startswith(ZIP_MAGIC):
        return "npz"
    if head.startswith(PICKLE_PROTOCOL_OPCODE):
        return "pickle"
    raise DataError(
        f"{what} {path} is not a .npy or .npz file: expected it to start with {NPY_MAGIC!r} or a "
        f"zip header, found {head!r}."
    )


def _load_npy(path: Path, mmap: bool) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as error:
        if "object" in str(error).lower():
            raise DataError(
                f"{path} holds Python objects (dtype=object), which only unpickling can read. "
                f"{PICKLED_HINT}"
            ) from None
        raise DataError(f"{path} is a corrupt or truncated .npy file ({error}).") from None


def _load_npz_member(path: Path, key: str, config_key: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if key not in archive.files:
                held = ", ".join(archive.files) or "none"
                raise DataError(
                    f"{path} has no array named {key!r}; it holds: {held}. Set "
                    f"data.{config_key} to the name of the array to use."
                )
            return archive[key]
    except ValueError as error:
        if "object" in str(error).lower():
            raise DataError(
                f"{path} holds Python objects in array {key!r} (dtype=object), which only "
                f"unpickling can read. {PICKLED_HINT}"
            ) from None
        raise DataError(f"{path} (array {key!r}) is corrupt ({error}).") from None
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DataError(f"{path} is a corrupt or truncated .npz file ({error}).") from None


def load_array(
    path: str | Path, key: str, config_key: str, what: str, mmap: bool
) -> tuple[np.ndarray, str]:
    """The array in ``path`` (a ``.npy``, or member ``key`` of a ``.npz``) and a name for messages.

    ``.npy`` files are memory-mapped when ``mmap``. ``config_key`` is the config key that names
    ``key``, ``what`` says what the file holds (for messages).
    """
    path = Path(path).expanduser()
    kind = _file_kind(path, what)
    if kind == "pickle":
        raise DataError(f"{what} {path} is a pickle, not a .npy/.npz file. {PICKLED_HINT}")
    if kind == "npy":
        return _load_npy(path, mmap), str(path)
    return _load_npz_member(path, key, config_key), f"{path} (array {key!r})"


class ArraysDataModule(ArraySplitsDataModule):
    """Sequences from ``.npy`` / ``.npz`` files: batches ``frames (B, T, C, H, W)`` and, when
    ``labels`` is set, ``labels`` ``(B,)`` or ``(B, T)``.

    ``path`` holds the frames in ``layout`` (a ``.npy``, or array ``key`` of a ``.npz``).
    ``labels``: a ``.npy`` file, or the name of an array in the frames' ``.npz``; integer class
    indices ``(N,)`` (per sequence) or ``(N, T)`` (per frame). ``val_path`` / ``test_path``: the
    split's own file (with ``val_labels`` / ``test_labels``; an array name defaults to ``labels``);
    a split without its own file takes its fraction of ``path``'s sequences.
    """

    def __init__(
        self,
        path: str | None = None,
        layout: str = "NTHW",
        key: str = "frames",
        labels: str | None = None,
        num_classes: int | None = None,
        val_path: str | None = None,
        val_labels: str | None = None,
        test_path: str | None = None,
        test_labels: str | None = None,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        seed: int = 0,
        batch_size: int = 16,
        num_workers: int = 0,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            split_seed=split_seed,
            seed=seed,
            batch_size=batch_size,
            num_workers=num_workers,
        )
        if path is None:
            raise ConfigError(
                "data=arrays reads sequences from data.path, which is not set. Set "
                "data.path=FILE (.npy or .npz) and data.layout (one of "
                f"{', '.join(LAYOUTS)})."
            )
        if layout not in LAYOUTS:
            raise ConfigError(
                f"data.layout={layout!r} is not a layout. Use one of: {', '.join(LAYOUTS)} "
                "(N sequences, T frames, C channels, H, W)."
            )
        self.path, self.layout, self.key = path, layout, key
        self.labels = labels
        self.split_files = {"val": (val_path, val_labels), "test": (test_path, test_labels)}
        for split, (split_path, split_labels) in self.split_files.items():
            if split_labels is not None and split_path is None:
                raise ConfigError(
                    f"data.{split}_labels is set but data.{split}_path is not: labels of a "
                    f"separate {split} file need that file (data.{split}_path=FILE)."
                )

    def load_arrays(self) -> tuple[SequenceArray, dict[str, SequenceArray]]:
        main = self._load(self.path, self.labels, "labels")
        separate = {}
        for split, (path, labels) in self.split_files.items():
            if path is not None:
                separate[split] = self._load(
                    path, self._split_labels(split, labels), f"{split}_labels"
                )
        return main, separate

    def _split_labels(self, split: str, labels: str | None) -> str | None:
        """Labels of a split's own file: as configured, else the array named like ``labels``."""
        if labels is not None or self.labels is None:
            return labels
        if self.labels.endswith(".npy"):
            raise ConfigError(
                f"data.labels={self.labels} is a file of labels for data.path only; the separate "
                f"{split} file data.{split}_path needs its own: data.{split}_labels=FILE.npy."
            )
        return self.labels

    def _load(self, path: str, labels: str | None, labels_key: str) -> SequenceArray:
        frames, source = load_array(path, self.key, "key", "Frames file", mmap=True)
        label_array, label_source = None, None
        if labels is not None:
            label_array, label_source = self._load_labels(path, labels, labels_key)
        return SequenceArray.checked(frames, self.layout, source, label_array, label_source)

    @staticmethod
    def _load_labels(path: str, labels: str, labels_key: str) -> tuple[np.ndarray, str]:
        if labels.endswith(".npy"):
            array, source = load_array(labels, "", labels_key, "Labels file", mmap=False)
            return np.asarray(array), source
        if _file_kind(Path(path).expanduser(), "Frames file") != "npz":
            raise ConfigError(
                f"data.{labels_key}={labels!r} names an array inside the frames file, but {path} "
                "is not a .npz. Give a .npy file of labels, or store the frames and labels "
                "together in a .npz."
            )
        return load_array(path, labels, labels_key, "Frames file", mmap=False)
