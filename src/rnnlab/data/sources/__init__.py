"""Data sources, one module each; every one builds a :class:`~rnnlab.data.SequenceDataModule`."""
