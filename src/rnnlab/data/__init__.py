"""Data sources: each builds a :class:`~rnnlab.data.base.SequenceDataModule`."""

from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.data.moving_digits import MovingDigitsDataModule

__all__ = ["DataSpec", "MovingDigitsDataModule", "SequenceDataModule"]
