"""Many run.json -> statistics, tables, plots and a verdict (``rnnlab-compare``).

Reads run records only (no torch): :mod:`~rnnlab.report.runs` finds runs and what varies,
:mod:`~rnnlab.report.stats` holds the statistics, :mod:`~rnnlab.report.analysis` groups and
compares, :mod:`~rnnlab.report.render` and :mod:`~rnnlab.report.plot` write the results,
:mod:`~rnnlab.report.write` ties them together and :mod:`~rnnlab.report.hydra_callback` runs it at
the end of every multirun.
"""
