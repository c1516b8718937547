"""Data sources: each builds a :class:`~rnnlab.data.base.SequenceDataModule`."""

from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.data.sources.arrays import ArraysDataModule
from rnnlab.data.sources.digit_rows import DigitRowsDataModule
from rnnlab.data.sources.frames_dir import FramesDirDataModule
from rnnlab.data.sources.moving_digits import MovingDigitsDataModule

__all__ = [
    "ArraysDataModule",
    "DataSpec",
    "DigitRowsDataModule",
    "FramesDirDataModule",
    "MovingDigitsDataModule",
    "SequenceDataModule",
]
