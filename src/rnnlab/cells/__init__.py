"""Recurrent cores. One interface for all: ``forward(x, state=None) -> (outputs, state)``."""

from rnnlab.cells.base import RecurrentCore
from rnnlab.cells.dense import DenseCore
from rnnlab.cells.framewise import FramewiseCore

__all__ = ["DenseCore", "FramewiseCore", "RecurrentCore"]
