"""Old home of the heads, kept so configs and checkpoints saved as ``rnnlab.heads.*`` still load."""

from rnnlab.models.heads import MLPHead

__all__ = ["MLPHead"]
