"""Recurrent cores. One interface for all: ``forward(x, state=None) -> (outputs, state)``."""

from rnnlab.models.cells.base import RecurrentCore
from rnnlab.models.cells.conv import ConvCell, ConvCore
from rnnlab.models.cells.dense import DenseCore
from rnnlab.models.cells.framewise import FramewiseCore

__all__ = ["ConvCell", "ConvCore", "DenseCore", "FramewiseCore", "RecurrentCore"]
