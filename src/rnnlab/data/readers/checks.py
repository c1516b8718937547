"""Checks of user-supplied frames and labels, each failing with a :class:`DataError` that names the
file, what rnnlab expected and what it found.

Frames arrive in a ``layout``: a string of axis letters, ``N`` (sequences), ``T`` (frames), ``C``
(channels, optional: 1 when absent), ``H``, ``W``.
"""

from __future__ import annotations

import numpy as np

from rnnlab.errors import DataError

LAYOUTS = ("NTHW", "NTHWC", "NTCHW", "TNHW")
# Bytes of float frames read at a time when scanning them for NaN/inf (memory stays bounded).
SCAN_BYTES = 1 << 26


def check_frames(frames: np.ndarray, layout: str, source: str) -> None:
    """Rank, layout, dtype and (float frames) values of a frames array in ``layout``."""
    letters = " ".join(layout)
    if frames.ndim != len(layout):
        others = ", ".join(f"{name} (rank {len(name)})" for name in LAYOUTS if name != layout)
        raise DataError(
            f"{source} holds frames of shape {frames.shape} (rank {frames.ndim}), but "
            f"layout={layout} expects rank {len(layout)} ({letters}). Set data.layout to the "
            f"array's layout: one of {others}."
        )
    if frames.size == 0:
        raise DataError(f"{source} holds no frames: shape {frames.shape} ({letters}).")
    _check_channel_axis(frames, layout, source)
    if frames.dtype != np.uint8 and not np.issubdtype(frames.dtype, np.floating):
        raise DataError(
            f"{source} holds frames of dtype {frames.dtype}; expected uint8 (0..255, scaled to "
            "[0, 1]) or float (values in [0, 1]). Convert it, e.g. frames.astype(np.uint8) for "
            "8-bit images or frames.astype(np.float32) / 255."
        )
    if frames.dtype != np.uint8:
        check_float_values(frames, layout, source)


def _check_channel_axis(frames: np.ndarray, layout: str, source: str) -> None:
    """A channel axis far larger than a spatial axis of size <= 4 means a mislabelled layout."""
    swapped = {"NTHWC": "NTCHW", "NTCHW": "NTHWC"}
    if layout not in swapped:
        return
    channels = frames.shape[layout.index("C")]
    other = swapped[layout]
    if channels > 4 and frames.shape[other.index("C")] <= 4:
        raise DataError(
            f"{source} holds frames of shape {frames.shape}: with layout={layout} that is "
            f"{channels} channels, which looks like the layout is {other}. Set "
            f"data.layout={other} if so."
        )


def check_float_values(frames: np.ndarray, layout: str, source: str) -> None:
    """Float frames must be finite and in [0, 1]; scanned in bounded chunks (works on memmaps)."""
    step = max(1, SCAN_BYTES // max(1, frames[:1].nbytes))
    low, high = np.inf, -np.inf
    for start in range(0, frames.shape[0], step):
        block = np.asarray(frames[start : start + step])
        bad = ~np.isfinite(block)
        if bad.any():
            where = np.argwhere(bad)[0]
            value = block[tuple(where)]
            where[0] += start
            sequence, frame = where[layout.index("N")], where[layout.index("T")]
            raise DataError(
                f"{source} holds {value} in float frames (first at sequence {sequence}, frame "
                f"{frame}); expected finite values in [0, 1]. Clean or drop those sequences."
            )
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    if low < 0.0 or high > 1.0:
        raise DataError(
            f"{source} holds float frames with values in [{low:g}, {high:g}]; expected [0, 1]. "
            "Scale them (e.g. divide 0..255 values by 255) or store uint8."
        )


def check_labels(labels: np.ndarray, num_sequences: int, seq_len: int, source: str) -> str:
    """Labels ``(N,)`` or ``(N, T)`` of non-negative integers; returns the label level."""
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"{source} holds labels of dtype {labels.dtype}; expected integer class indices "
            "0..K-1 (e.g. labels.astype(np.int64))."
        )
    if labels.shape == (num_sequences,):
        level = "per_sequence"
    elif labels.shape == (num_sequences, seq_len):
        level = "per_frame"
    else:
        raise DataError(
            f"{source} holds labels of shape {labels.shape}; expected ({num_sequences},) (one per "
            f"sequence) or ({num_sequences}, {seq_len}) (one per frame) for the {num_sequences} "
            f"sequences of {seq_len} frames they label."
        )
    if labels.size and labels.min() < 0:
        raise DataError(
            f"{source} holds negative labels (smallest {labels.min()}); expected class indices "
            "0..K-1."
        )
    return level


def check_label_range(labels: np.ndarray, num_classes: int, source: str) -> None:
    """Every label is below ``num_classes``."""
    if labels.size and labels.max() >= num_classes:
        raise DataError(
            f"{source} holds label {labels.max()}, out of range for data.num_classes="
            f"{num_classes} (labels 0..{num_classes - 1}). Raise data.num_classes or leave it "
            "null to use the largest label + 1."
        )
