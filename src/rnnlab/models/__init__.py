"""What learns: recurrent cores (``cells/``), frame adapters and heads. Imports only ``errors``."""

from rnnlab.models.cells import DenseCore, FramewiseCore, RecurrentCore
from rnnlab.models.heads import MLPHead

__all__ = ["DenseCore", "FramewiseCore", "MLPHead", "RecurrentCore"]
