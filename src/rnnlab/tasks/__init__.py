"""Tasks: LightningModules that wrap a recurrent core with a head, a loss and metrics."""

from rnnlab.tasks.base import SequenceTask
from rnnlab.tasks.classify import FrameClassifier
from rnnlab.tasks.next_frame import NextFramePredictor

__all__ = ["FrameClassifier", "NextFramePredictor", "SequenceTask"]
