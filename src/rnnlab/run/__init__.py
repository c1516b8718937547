"""A run on disk and the Trainer around it: run directory, run.json, checkpoints, resume,
results, the callbacks every run gets, and the Trainer builder.

Imports ``config``, never ``tasks``, ``models`` or ``data``.
"""
