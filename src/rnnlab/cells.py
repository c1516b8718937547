"""Old home of the cores, kept so configs and checkpoints saved as ``rnnlab.cells.*`` still load."""

from rnnlab.models.cells import ConvCore, DenseCore, FramewiseCore, RecurrentCore

__all__ = ["ConvCore", "DenseCore", "FramewiseCore", "RecurrentCore"]
