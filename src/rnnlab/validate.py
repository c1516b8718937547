"""Validate a composed config before anything is built: a typo costs a second, not a run.

Checks, each failing with a :class:`ConfigError` that names the key, the bad value and what is
allowed: value rules for the keys below (where the chosen config has them), every key of every
``_target_`` group against the parameters of the class it builds, and the accelerator.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from rnnlab.config import check_config_keys
from rnnlab.errors import ConfigError

POSITIVE_INT = (
    "model.hidden_size",
    "model.num_layers",
    "data.batch_size",
    "data.seq_len",
    "data.train_size",
    "data.val_size",
    "data.test_size",
    "data.num_digits",
    "data.canvas_size",
    "data.digit_size",
    "task.context_frames",
    "task.predict_frames",
    "trainer.max_epochs",
)
NON_NEGATIVE_INT = ("seed", "data.num_workers", "task.image_samples")
POSITIVE_NUMBER = ("optimizer.lr",)
FRACTION_BELOW_ONE = ("model.dropout",)  # [0, 1)

# What rnnlab passes to each group's class itself (not config keys).
PROVIDED = {
    "data": (),
    "model": ("input_size",),
    "task": ("model", "optimizer", "data_spec"),
    "task.head": ("in_features", "out_features"),
    "optimizer": ("params",),
    "trainer": ("logger", "callbacks", "plugins"),
    "logger": (),
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


RULES: list[tuple[tuple[str, ...], Callable[[Any], bool], str]] = [
    (POSITIVE_INT, lambda v: _is_int(v) and v > 0, "a whole number >= 1"),
    (NON_NEGATIVE_INT, lambda v: _is_int(v) and v >= 0, "a whole number >= 0"),
    (POSITIVE_NUMBER, lambda v: _is_number(v) and v > 0, "a number > 0"),
    (FRACTION_BELOW_ONE, lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
]

_ABSENT = object()


def _select(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def check_values(config: dict[str, Any]) -> None:
    """Value rules for the keys the composed config has."""
    for keys, valid, allowed in RULES:
        for key in keys:
            value = _select(config, key)
            if value is not _ABSENT and not valid(value):
                raise ConfigError(f"{key}={value!r} is not valid: use {allowed}.")
    clip = _select(config, "trainer.gradient_clip_val")
    if clip not in (_ABSENT, None) and not (_is_number(clip) and clip >= 0):
        raise ConfigError(
            f"trainer.gradient_clip_val={clip!r} is not valid: use a number >= 0, or null to "
            "turn clipping off."
        )


def check_keys(config: dict[str, Any]) -> None:
    """Every key of every ``_target_`` group is a parameter of the class it builds."""
    for group, provided in PROVIDED.items():
        node = _select(config, group)
        if isinstance(node, dict) and "_target_" in node:
            check_config_keys(node, group, provided)
    for name, callback in (config.get("callbacks") or {}).items():
        if isinstance(callback, dict) and "_target_" in callback:
            check_config_keys(callback, f"callbacks.{name}")


def check_accelerator(config: dict[str, Any]) -> None:
    """``trainer=gpu`` needs a CUDA device."""
    accelerator = str(_select(config, "trainer.accelerator"))
    if accelerator in {"gpu", "cuda"}:
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.accelerator={accelerator} (trainer=gpu), but this machine has no CUDA "
                "GPU that torch can use. Run on the CPU with trainer=cpu, or install a CUDA "
                "build of torch on a machine with a GPU."
            )


def validate_config(config: dict[str, Any]) -> None:
    """Run every check on the resolved ``config``; raise :class:`ConfigError` on the first."""
    check_values(config)
    check_keys(config)
    check_accelerator(config)
