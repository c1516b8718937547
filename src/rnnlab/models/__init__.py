"""What learns: recurrent cores (``cells/``), frame encoders and decoders, heads, and the
``SequenceModel(encoder, core, decoder)`` that tasks call. Imports only ``errors``, ``values``."""

from rnnlab.models.cells import ConvCore, DenseCore, FramewiseCore, RecurrentCore
from rnnlab.models.heads import MLPHead
from rnnlab.models.sequence_model import FrameAdapters, SequenceModel

__all__ = [
    "ConvCore",
    "DenseCore",
    "FrameAdapters",
    "FramewiseCore",
    "MLPHead",
    "RecurrentCore",
    "SequenceModel",
]
