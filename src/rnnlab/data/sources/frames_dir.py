"""Videos stored as image frames (``data=frames_dir``): one sub-folder per sequence.

    videos/                      # data.path=videos
      walk_001/ 0001.png 0002.png ...
      walk_002/ ...
      labels.csv                 # optional

Frames (PNG or JPEG) are taken in name order, numbers compared by value (``frame_2`` before
``frame_10``); sequence folders likewise. ``labels.csv`` has the header ``sequence,label`` (one
integer label per sequence, ``sequence`` = the sub-folder's name) or ``sequence,frame,label`` (one
per frame, ``frame`` = the file's name). Every frame is decoded with Pillow, converted to
grayscale or RGB and optionally resized when the data is first used, before training starts, so a
corrupt image stops the run early with its name; the decoded frames are held in memory as uint8.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from rnnlab.data.splits import ArraySplitsDataModule, SequenceArray
from rnnlab.errors import ConfigError, DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
COLORS = {"grayscale": "L", "rgb": "RGB"}
LABELS_FILE = "labels.csv"
LABEL_HEADERS = {("sequence", "label"): "per_sequence", ("sequence", "frame", "label"): "per_frame"}


def natural_key(name: str) -> list[int | str]:
    """Sort key comparing runs of digits by value: ``frame_2`` < ``frame_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def sequence_folders(root: Path) -> list[Path]:
    """The sequence sub-folders of ``root`` in name order."""
    if not root.exists():
        raise DataError(f"Frames folder {root} does not exist. Check data.path.")
    if not root.is_dir():
        raise DataError(
            f"{root} is a file; expected a folder with one sub-folder of frames per sequence."
        )
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if not folders:
        raise DataError(
            f"{root} has no sub-folders; expected one sub-folder of PNG/JPEG frames per sequence."
        )
    return sorted(folders, key=lambda p: natural_key(p.name))


def frame_files(folder: Path) -> list[Path]:
    """The PNG/JPEG files of one sequence folder in name order."""
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file() and not p.name.startswith(".")
    ]
    if not files:
        raise DataError(f"Sequence folder {folder} has no PNG/JPEG frames.")
    return sorted(files, key=lambda p: natural_key(p.name))


def decode_frame(path: Path, mode: str, size: tuple[int, int] | None) -> np.ndarray:
    """One frame as uint8 ``(H, W)`` (mode ``L``) or ``(H, W, 3)`` (``RGB``), resized to ``size``
    ``(H, W)`` when given."""
    try:
        with Image.open(path) as image:
            converted = image.convert(mode)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise DataError(
            f"Image {path} cannot be decoded ({error}); expected a valid PNG or JPEG. Replace or "
            "remove it."
        ) from None
    if size is not None and converted.size != (size[1], size[0]):
        converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    return np.asarray(converted)


def _sequence_lengths(files: dict[Path, list[Path]], num_frames: int | None, root: Path) -> int:
    """Frames per sequence: ``num_frames``, or the common length of all sequences."""
    if num_frames is not None:
        for folder, paths in files.items():
            if len(paths) < num_frames:
                raise DataError(
                    f"Sequence folder {folder} has {len(paths)} frames, fewer than "
                    f"data.num_frames={num_frames}. Lower data.num_frames or remove the sequence."
                )
        return num_frames
    lengths = {folder: len(paths) for folder, paths in files.items()}
    first = next(iter(files))
    for folder, length in lengths.items():
        if length != lengths[first]:
            raise DataError(
                f"Sequence folders in {root} hold different numbers of frames: {first} has "
                f"{lengths[first]}, {folder} has {length}. Set data.num_frames=N to use the first "
                f"N frames of each (N <= {min(lengths.values())})."
            )
    return lengths[first]


def _decode_sequences(
    files: dict[Path, list[Path]], mode: str, size: tuple[int, int] | None
) -> np.ndarray:
    """All frames as uint8 ``(N, T, C, H, W)``; without ``size`` all frames must be one size."""
    sequences = []
    first_frame: Path | None = None
    for paths in files.values():
        frames = [decode_frame(path, mode, size) for path in paths]
        for path, frame in zip(paths[1:], frames[1:], strict=True):
            if frame.shape != frames[0].shape:
                raise DataError(
                    f"Frames of one sequence differ in size: {paths[0]} is {_size(frames[0])}, "
                    f"{path} is {_size(frame)}. Set data.size=[H,W] to resize every frame."
                )
        if sequences and frames[0].shape != sequences[0].shape[1:]:
            raise DataError(
                f"Sequences differ in frame size: {first_frame} is {_size(sequences[0][0])}, "
                f"{paths[0]} is {_size(frames[0])}. Set data.size=[H,W] to resize every frame."
            )
        first_frame = first_frame or paths[0]
        sequences.append(np.stack(frames))  # (T, H, W) or (T, H, W, 3)
    stacked = np.stack(sequences)
    if stacked.ndim == 4:
        return stacked[:, :, None]  # (N, T, 1, H, W)
    return stacked.transpose(0, 1, 4, 2, 3)  # (N, T, 3, H, W)


def _size(frame: np.ndarray) -> str:
    return f"{frame.shape[1]}x{frame.shape[0]} (WxH)"


def read_labels_csv(path: Path, files: dict[Path, list[Path]]) -> np.ndarray:
    """Labels from ``labels.csv`` for the sequences (and used frames) in ``files``: ``(N,)`` or
    ``(N, T)`` int64."""
    with path.open(newline="") as stream:
        rows = [row for row in csv.reader(stream) if row]
    header = tuple(cell.strip() for cell in rows[0]) if rows else ()
    if header not in LABEL_HEADERS:
        raise DataError(
            f"{path} starts with {','.join(header) or 'nothing'}; expected the header "
            "'sequence,label' (one label per sequence) or 'sequence,frame,label' (one per frame)."
        )
    names = {folder.name: folder for folder in files}
    table: dict[tuple[str, ...], int] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = tuple(cell.strip() for cell in row)
        if len(cells) != len(header):
            raise DataError(f"{path} line {line} has {len(cells)} fields; expected {len(header)}.")
        try:
            label = int(cells[-1])
        except ValueError:
            raise DataError(
                f"{path} line {line}: label {cells[-1]!r} is not an integer class index."
            ) from None
        if cells[0] not in names:
            raise DataError(
                f"{path} line {line} names sequence {cells[0]!r}, which is not a sub-folder of "
                f"{path.parent}."
            )
        table[cells[:-1]] = label
    wanted = [
        (folder.name,) if len(header) == 2 else (folder.name, frame.name)
        for folder, paths in files.items()
        for frame in (paths if len(header) == 3 else paths[:1])
    ]
    missing = [key for key in wanted if key not in table]
    if missing:
        shown = ", ".join("/".join(key) for key in missing[:3])
        raise DataError(
            f"{path} has {len(wanted) - len(missing)} of the {len(wanted)} labels expected (one "
            f"per {'sequence' if len(header) == 2 else 'frame used'}); missing: {shown}"
            f"{' ...' if len(missing) > 3 else ''}."
        )
    labels = np.array([table[key] for key in wanted], dtype=np.int64)
    return labels if len(header) == 2 else labels.reshape(len(files), -1)


def load_frames_dir(
    root: str | Path, color: str, size: tuple[int, int] | None, num_frames: int | None
) -> SequenceArray:
    """The sequences in folder ``root`` (and its ``labels.csv`` if present), decoded and checked."""
    root = Path(root).expanduser()
    files = {folder: frame_files(folder) for folder in sequence_folders(root)}
    length = _sequence_lengths(files, num_frames, root)
    files = {folder: paths[:length] for folder, paths in files.items()}
    frames = _decode_sequences(files, COLORS[color], size)  # (N, T, C, H, W)
    labels_path = root / LABELS_FILE
    labels = read_labels_csv(labels_path, files) if labels_path.is_file() else None
    return SequenceArray.checked(frames, "NTCHW", str(root), labels, str(labels_path))


class FramesDirDataModule(ArraySplitsDataModule):
    """Sequences of image frames from a folder: batches ``frames (B, T, C, H, W)`` (C = 1 for
    ``color=grayscale``, 3 for ``rgb``) and, with a ``labels.csv``, ``labels`` ``(B,)`` or
    ``(B, T)``.

    ``size``: ``[H, W]`` to resize every frame to (without it all frames must have one size).
    ``num_frames``: use the first N frames of each sequence (without it all sequences must have
    the same number). ``val_path`` / ``test_path``: the split's own folder (with its own
    ``labels.csv``); a split without one takes its fraction of ``path``'s sequences.
    """

    def __init__(
        self,
        path: str | None = None,
        color: str = "grayscale",
        size: Sequence[int] | None = None,
        num_frames: int | None = None,
        num_classes: int | None = None,
        val_path: str | None = None,
        test_path: str | None = None,
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
                "data=frames_dir reads sequences from data.path, which is not set. Set "
                "data.path=FOLDER (one sub-folder of PNG/JPEG frames per sequence)."
            )
        if color not in COLORS:
            raise ConfigError(
                f"data.color={color!r} is not valid. Use one of: {', '.join(COLORS)}."
            )
        if size is not None and (len(size) != 2 or min(size) < 1):
            raise ConfigError(
                f"data.size={list(size)} is not a frame size. Give [height, width] in pixels, "
                "e.g. data.size=[64,64], or null to keep the images' own size."
            )
        if num_frames is not None and num_frames < 1:
            raise ConfigError(f"data.num_frames={num_frames} is not valid: use N >= 1 or null.")
        self.path, self.color = path, color
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.num_frames = num_frames
        self.split_folders = {"val": val_path, "test": test_path}

    def load_arrays(self) -> tuple[SequenceArray, dict[str, SequenceArray]]:
        def load(path: str) -> SequenceArray:
            return load_frames_dir(path, self.color, self.size, self.num_frames)

        separate = {split: load(path) for split, path in self.split_folders.items() if path}
        return load(self.path), separate
