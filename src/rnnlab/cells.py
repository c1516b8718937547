"""Old home of the cores, kept so configs and checkpoints saved as ``rnnlab.cells.*`` still load."""

from rnnlab.models.cells import DenseCore, FramewiseCore, RecurrentCore

__all__ = ["DenseCore", "FramewiseCore", "RecurrentCore"]
