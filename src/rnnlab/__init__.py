"""rnnlab: config-driven experiments with recurrent networks on image sequences.

Frames are ``(B, T, C, H, W)`` float32 in [0, 1] everywhere.
"""

__version__ = "0.1.0"
