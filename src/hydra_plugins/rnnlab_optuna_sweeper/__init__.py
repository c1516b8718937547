"""rnnlab's Optuna sweeper for Hydra: ``hydra/sweeper=optuna`` (Optuna 5, resumable, pruning).

Hydra imports every module of the ``hydra_plugins`` namespace when it looks for plugins: keep the
modules light (Optuna is imported when a search starts).
"""
