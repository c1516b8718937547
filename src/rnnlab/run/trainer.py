"""Lightning's Trainer from the ``trainer`` config group, with the run's loggers and callbacks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning as L
from hydra.utils import get_class
from lightning.pytorch.callbacks import Callback, LearningRateMonitor
from lightning.pytorch.loggers import Logger, TensorBoardLogger

from rnnlab.config import build_from_config, to_primitive
from rnnlab.run.checkpoints import CommitCheckpoints, CommittedCheckpointIO


def named_components(node: dict[str, Any] | None, key: str) -> dict[str, dict[str, Any]]:
    """The components a ``logger``/``callbacks`` node describes, by config key.

    The node is either one component (a dict with ``_target_``) or a dict of named components
    (``logger=many``: ``{tensorboard: {...}, csv: {...}}``); ``null`` entries are left out.
    """
    if not node:
        return {}
    if "_target_" in node:
        return {key: node}
    return {f"{key}.{name}": item for name, item in node.items() if item}


def build_loggers(
    config: dict[str, Any], purge_step: int | None = None, run_label: str | None = None
) -> list[Logger]:
    """The loggers of ``config['logger']``. For TensorBoard: ``purge_step`` (when resuming, it
    hides the events the interrupted attempt logged at or after this step, so no step appears
    twice) and ``run_label`` (in a sweep, the run's folder, so TensorBoard names the run by what
    the sweep varies, unless the config sets a ``version``)."""
    loggers = []
    for key, node in named_components(config.get("logger"), "logger").items():
        extra: dict[str, Any] = {}
        if issubclass(get_class(node["_target_"]), TensorBoardLogger):
            if purge_step is not None:
                extra["purge_step"] = purge_step
            if run_label and node.get("version") in ("", None):
                extra["version"] = run_label
        loggers.append(build_from_config({**node, **extra}, key))
    return loggers


def build_callbacks(config: dict[str, Any]) -> list[Callback]:
    """The callbacks of ``config['callbacks']`` (a dict of named callbacks; ``null`` ones off).

    With logging off, a learning-rate monitor (in the default callbacks) has nowhere to log and
    Lightning would refuse the run: it is left out.
    """
    callbacks = [
        build_from_config(node, key)
        for key, node in named_components(config.get("callbacks"), "callbacks").items()
    ]
    if logging_disabled(config):
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    return callbacks


def logging_disabled(config: dict[str, Any]) -> bool:
    """True when logging is off: ``logger=null``, ``~logger`` or ``++trainer.logger=false``."""
    return not config.get("logger") or config.get("trainer", {}).get("logger") is False


def build_trainer(
    config: dict[str, Any] | Any,
    extra_callbacks: Sequence[Callback] = (),
    purge_step: int | None = None,
    run_label: str | None = None,
) -> L.Trainer:
    """Lightning's Trainer from ``config['trainer']`` with the configured loggers and callbacks.

    Checkpoints are committed only once complete and logged up to (see
    :mod:`rnnlab.run.checkpoints`). Trainer arguments that are themselves components (a dict
    with ``_target_``, e.g. ``trainer.profiler``) are built too.
    """
    config = {key: to_primitive(config.get(key)) for key in ("trainer", "logger", "callbacks")}
    trainer = dict(config["trainer"])
    trainer.pop("logger", None)
    loggers: list[Logger] | bool = (
        False if logging_disabled(config) else build_loggers(config, purge_step, run_label)
    )
    for name, value in list(trainer.items()):
        if isinstance(value, dict) and "_target_" in value:
            trainer[name] = build_from_config(value, f"trainer.{name}")
    checkpoint_io = CommittedCheckpointIO()
    callbacks = [*build_callbacks(config), *extra_callbacks, CommitCheckpoints(checkpoint_io)]
    return build_from_config(
        trainer, "trainer", logger=loggers, callbacks=callbacks, plugins=[checkpoint_io]
    )
