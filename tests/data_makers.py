"""Small data files that tests write: IDX files, MNIST folders, ``.npy``/``.npz`` arrays, folders
of image frames. Written by hand from the formats' definitions, not by the code under test."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from PIL import Image

IDX_TYPE_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` as IDX: magic 00 00 <type> <ndim>, big-endian dimensions, big-endian values."""
    big = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    code = IDX_TYPE_CODES[np.dtype(big.dtype)]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + big.tobytes()


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def digit_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 'digits' (a bright square whose place depends on the label) + labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.zeros((n, 28, 28), np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label : 8 + 2 * label, 4:24] = 200 + i % 50
    return images, labels


def write_mnist_dir(directory: Path, n_train: int = 60, n_test: int = 20, gz: bool = True) -> Path:
    """A folder with the four MNIST IDX files (small), ``.gz`` or plain."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for split, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = digit_images(n, seed)
        write_idx(directory / f"{split}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(directory / f"{split}-labels-idx1-ubyte{suffix}", labels, gz)
    return directory


def sequences(n: int, t: int = 20, h: int = 16, w: int = 16, seed: int = 0) -> np.ndarray:
    """uint8 ``(N, T, H, W)`` sequences: a bright bar moving down, one step per frame, on noise."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 40, (n, t, h, w), dtype=np.uint8)
    for i in range(n):
        for step in range(t):
            frames[i, step, (i + step) % h] = 255
    return frames


def write_frames_dir(
    root: Path,
    frames: np.ndarray,
    labels: np.ndarray | None = None,
    suffix: str = ".png",
) -> Path:
    """One sub-folder per sequence of ``frames`` (uint8 ``(N, T, H, W)`` or ``(N, T, H, W, 3)``),
    frames named ``frame_1 .. frame_T`` (so name order needs numbers compared by value), and a
    ``labels.csv`` for ``labels`` ``(N,)`` or ``(N, T)``."""
    root.mkdir(parents=True, exist_ok=True)
    for i, sequence in enumerate(frames):
        folder = root / f"seq_{i}"
        folder.mkdir()
        for step, frame in enumerate(sequence):
            Image.fromarray(frame).save(folder / f"frame_{step + 1}{suffix}")
    if labels is not None:
        if labels.ndim == 1:
            rows = ["sequence,label", *(f"seq_{i},{y}" for i, y in enumerate(labels))]
        else:
            rows = ["sequence,frame,label"] + [
                f"seq_{i},frame_{step + 1}{suffix},{y}"
                for i, row in enumerate(labels)
                for step, y in enumerate(row)
            ]
        (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def tiny_data_overrides(source: str, directory: Path | None = None) -> list[str]:
    """Overrides that make ``data=<source>`` small and fast, writing its files (arrays,
    frames_dir) under ``directory``.

    Every source gives 20-frame sequences (or 8 rows for digit_rows) with labels.
    """
    if source == "moving_digits":
        return [
            "data.canvas_size=32",
            "data.digit_size=14",
            "data.train_size=32",
            "data.val_size=16",
            "data.test_size=16",
            "data.batch_size=8",
        ]
    if source == "digit_rows":
        return ["data.digits=sklearn", "data.batch_size=128"]
    assert directory is not None, f"data={source} needs a directory for its files"
    frames = sequences(40)
    labels = frames[:, :, :, 0].argmax(-1) % 4  # (N, T): the bar's row, 4 classes
    if source == "arrays":
        path = directory / "tiny.npz"
        np.savez(path, frames=frames, labels=labels)
        return [f"data.path={path}", "data.labels=labels", "data.batch_size=8"]
    if source == "frames_dir":
        path = write_frames_dir(directory / "tiny_frames", frames, labels)
        return [f"data.path={path}", "data.batch_size=8"]
    raise ValueError(f"no tiny overrides for data={source}")
