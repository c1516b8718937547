"""Data sources (each a :class:`~rnnlab.data.base.SequenceDataModule` with a declared spec) and
the spec inferred for any other ``LightningDataModule``."""

from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.data.sources.arrays import ArraysDataModule
from rnnlab.data.sources.digit_rows import DigitRowsDataModule
from rnnlab.data.sources.frames_dir import FramesDirDataModule
from rnnlab.data.sources.moving_digits import MovingDigitsDataModule
from rnnlab.data.spec import data_spec, infer_spec

__all__ = [
    "ArraysDataModule",
    "DataSpec",
    "DigitRowsDataModule",
    "FramesDirDataModule",
    "MovingDigitsDataModule",
    "SequenceDataModule",
    "data_spec",
    "infer_spec",
]
