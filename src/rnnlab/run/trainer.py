"""Lightning's Trainer from the ``trainer`` config group, with the run's loggers and callbacks."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import lightning as L
import torch
from hydra.utils import get_class
from lightning.pytorch.callbacks import Callback, Checkpoint, LearningRateMonitor, ProgressBar
from lightning.pytorch.loggers import Logger, TensorBoardLogger
from lightning.pytorch.utilities import rank_zero_warn
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from rnnlab.config import build_from_config, to_primitive
from rnnlab.errors import ConfigError
from rnnlab.run.callbacks import EndSpawnedProcessGroup
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


# Trainer switches that forbid a kind of callback: ``trainer.<switch>=false`` leaves the configured
# callbacks of that kind out (Lightning would refuse the Trainer otherwise).
SWITCHED_OFF_KINDS: dict[str, type[Callback]] = {
    "enable_checkpointing": Checkpoint,
    "enable_progress_bar": ProgressBar,
}


def switched_off(config: dict[str, Any]) -> dict[str, list[str]]:
    """``{trainer switch: [callback keys it leaves out]}`` for the switches set to false."""
    trainer = config.get("trainer") or {}
    nodes = named_components(config.get("callbacks"), "callbacks")
    left_out: dict[str, list[str]] = {}
    for switch, kind in SWITCHED_OFF_KINDS.items():
        if trainer.get(switch, True) is False:
            keys = [key for key, node in nodes.items() if _builds(node, kind)]
            if keys:
                left_out[switch] = keys
    return left_out


def _builds(node: dict[str, Any], kind: type) -> bool:
    try:
        cls = get_class(node["_target_"])
    except Exception:  # the builder reports a bad _target_ with its key
        return False
    return isinstance(cls, type) and issubclass(cls, kind)


def build_callbacks(config: dict[str, Any]) -> list[Callback]:
    """The callbacks of ``config['callbacks']`` (a dict of named callbacks; ``null`` ones off),
    less those a Trainer switch turns off (``trainer.enable_checkpointing=false`` leaves out the
    checkpoint callbacks, ``trainer.enable_progress_bar=false`` the progress bar). With logging
    off, a learning-rate monitor has nowhere to log and Lightning would refuse the run: it is
    left out too.
    """
    left_out = {key for keys in switched_off(config).values() for key in keys}
    callbacks = [
        build_from_config(node, key)
        for key, node in named_components(config.get("callbacks"), "callbacks").items()
        if key not in left_out
    ]
    if logging_disabled(config):
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    return callbacks


def checkpointing_enabled(config: dict[str, Any]) -> bool:
    """False with ``++trainer.enable_checkpointing=false``: no checkpoint is written at all."""
    return (config.get("trainer") or {}).get("enable_checkpointing", True) is not False


@contextmanager
def trainer_settings_refused(config: dict[str, Any]) -> Iterator[None]:
    """Turn Lightning's refusal of a Trainer setting once ``fit``/``test`` runs (e.g.
    ``limit_train_batches=0.1`` of 4 batches is no batch, ``val_check_interval=10`` of 4) into a
    :class:`ConfigError` naming the ``trainer.*`` key the user set; other errors pass unchanged."""
    try:
        yield
    except (MisconfigurationException, ValueError) as error:
        settings = config.get("trainer") or {}
        message = " ".join(str(error).split())
        named = [key for key in settings if re.search(rf"\b{re.escape(key)}\b", message)]
        if not named:
            raise
        given = ", ".join(f"trainer.{key}={settings[key]!r}" for key in named)
        raise ConfigError(
            f"Lightning cannot run with {given}: {message.rstrip('.')}. Change the setting "
            f"(++trainer.{named[0]}=<value>) or the data size."
        ) from None


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
    :mod:`rnnlab.run.checkpoints`); processes that ``ddp_spawn`` starts end their process group
    as their stage ends (:class:`~rnnlab.run.callbacks.EndSpawnedProcessGroup`). Trainer
    arguments that are themselves components (a dict with ``_target_``, e.g.
    ``trainer.profiler``) are built too.
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
    callbacks = [
        *build_callbacks(config),
        *extra_callbacks,
        CommitCheckpoints(checkpoint_io),
        EndSpawnedProcessGroup(),
    ]
    built = build_from_config(
        trainer, "trainer", logger=loggers, callbacks=callbacks, plugins=[checkpoint_io]
    )
    warn_emulated_bf16(built)
    return built


# x86 (AVX-512 BF16, AMX) and Arm (BF16, SVE BF16) instructions that compute in bfloat16 natively
NATIVE_BF16 = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")
# oneDNN's ISA limits (ONEDNN_MAX_CPU_ISA) that leave those instructions out
ONEDNN_ISAS_WITHOUT_BF16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI")


def cpu_has_native_bf16(capabilities: Mapping[str, Any], onednn_max_isa: str | None) -> bool:
    """Whether oneDNN computes bfloat16 natively on a CPU with these capabilities
    (``torch.cpu.get_capabilities()``), under the ``ONEDNN_MAX_CPU_ISA`` limit if one is set."""
    if onednn_max_isa and onednn_max_isa.strip().upper() in ONEDNN_ISAS_WITHOUT_BF16:
        return False
    return any(capabilities.get(name) is True for name in NATIVE_BF16)


def warn_emulated_bf16(trainer: L.Trainer) -> None:
    """Warn when ``trainer.precision=bf16-*`` runs on a CPU without bfloat16 instructions: oneDNN
    then emulates bfloat16 and a step can be slower than in float32."""
    precision = str(trainer.precision)
    if not precision.startswith("bf16") or trainer.strategy.root_device.type != "cpu":
        return
    if not cpu_has_native_bf16(torch.cpu.get_capabilities(), os.environ.get("ONEDNN_MAX_CPU_ISA")):
        rank_zero_warn(
            f"trainer.precision={precision} on a CPU without bfloat16 instructions (AVX-512 BF16, "
            "AMX or Arm BF16): PyTorch emulates bfloat16 there, which can be slower than float32. "
            "Set ++trainer.precision=32 on this machine."
        )
