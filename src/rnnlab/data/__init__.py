"""Data sources: each builds a :class:`~rnnlab.data.base.SequenceDataModule`."""

from rnnlab.data.arrays import ArraysDataModule
from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.data.digit_rows import DigitRowsDataModule
from rnnlab.data.frames_dir import FramesDirDataModule
from rnnlab.data.moving_digits import MovingDigitsDataModule

__all__ = [
    "ArraysDataModule",
    "DataSpec",
    "DigitRowsDataModule",
    "FramesDirDataModule",
    "MovingDigitsDataModule",
    "SequenceDataModule",
]
