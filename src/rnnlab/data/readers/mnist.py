"""The full MNIST (60,000 training and 10,000 test digits) from a local folder of IDX files.

The folder holds the four files of the standard distribution, each plain or ``.gz``:
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
``t10k-labels-idx1-ubyte``. ``python -m rnnlab.data.mnist_download DIR`` fetches them (the only
place rnnlab downloads anything; training never does).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnlab.data.readers.idx import read_idx
from rnnlab.errors import ConfigError, DataError

# split -> (images file, labels file), names without the optional ".gz"
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DOWNLOAD_COMMAND = "python -m rnnlab.data.mnist_download"


def find_idx_file(directory: Path, name: str) -> Path | None:
    """``directory/name`` or ``directory/name.gz``, whichever exists (plain first)."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def check_mnist_dir(directory: str | Path | None) -> Path:
    """The MNIST folder as a path, after checking that all four files are in it."""
    if directory is None:
        raise ConfigError(
            "data.digits=mnist reads the MNIST IDX files from data.mnist_dir, which is not set. "
            f"Set data.mnist_dir=DIR (fetch the files once with `{DOWNLOAD_COMMAND} DIR`)."
        )
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise DataError(
            f"data.mnist_dir={path} is not a folder. Expected a folder with the four MNIST IDX "
            f"files; fetch them with `{DOWNLOAD_COMMAND} {path}`."
        )
    names = [name for pair in MNIST_FILES.values() for name in pair]
    missing = [name for name in names if find_idx_file(path, name) is None]
    if missing:
        raise DataError(
            f"data.mnist_dir={path} lacks {', '.join(missing)} (each plain or .gz). Expected the "
            f"four MNIST IDX files {', '.join(names)}; fetch them with `{DOWNLOAD_COMMAND} {path}`."
        )
    return path


def read_mnist_split(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """One MNIST split: images ``uint8 (N, 28, 28)`` and labels ``int64 (N,)``, checked."""
    image_name, label_name = MNIST_FILES[split]
    image_path = find_idx_file(directory, image_name)
    label_path = find_idx_file(directory, label_name)
    if image_path is None or label_path is None:
        raise DataError(
            f"{directory} lacks {image_name}(.gz) or {label_name}(.gz), the MNIST {split} files."
        )
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{image_path} should hold uint8 images (N, H, W); found {images.dtype} {images.shape}."
        )
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(
            f"{label_path} should hold one label per image of {image_path} ({len(images)}); "
            f"found shape {labels.shape}."
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(
            f"{label_path} should hold digit labels 0..9; found {labels.min()}..{labels.max()}."
        )
    return images, labels.astype(np.int64)


def load_mnist(directory: str | Path | None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "test": (images, labels)}`` from the MNIST folder."""
    path = check_mnist_dir(directory)
    return {split: read_mnist_split(path, split) for split in MNIST_FILES}
