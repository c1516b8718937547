"""Validate a composed config before anything is built: a typo costs a second, not a run.

Checks, each failing with a :class:`ConfigError` that names the key, the bad value and what is
allowed: the top-level keys, the value rules each component declares beside its code
(``value_rules`` on the class a group's ``_target_`` names), every key of every ``_target_``
group against the parameters of the class it builds (and the keys rnnlab reads itself, such as
``model.param_budget``, against their own rules), a parameter budget's core declaring its width,
and the accelerator.
"""

from __future__ import annotations

from typing import Any

from rnnlab.config.builder import adapter_class, check_config_keys, own_key_classes
from rnnlab.config.groups import GROUP_NAMES, injected
from rnnlab.errors import ConfigError
from rnnlab.values import (
    BOOLEAN,
    NON_NEGATIVE_INT,
    NON_NEGATIVE_NUMBER,
    POSITIVE_INT,
    POSITIVE_NUMBER,
    Rule,
    is_int,
    one_of,
)

TOP_LEVEL_RULES: dict[str, Rule] = {
    "seed": NON_NEGATIVE_INT,
    "deterministic": BOOLEAN,
    "train": BOOLEAN,
    "test": BOOLEAN,
    "resume": BOOLEAN,
    "compare": BOOLEAN,
    "monitor.mode": one_of("min", "max"),
    "threads": POSITIVE_INT.or_null(),
}
UNTIL_STOPPED = "a whole number >= 0, or -1 for no limit (then set another: max_steps, max_time)"
# Lightning's Trainer and torch's optimizers are not rnnlab's classes: the rules rnnlab adds to
# what they check themselves.
THIRD_PARTY_RULES: dict[str, dict[str, Rule]] = {
    "trainer": {
        "gradient_clip_val": NON_NEGATIVE_NUMBER.or_null(),
        "max_epochs": Rule(lambda v: v is None or (is_int(v) and v >= -1), UNTIL_STOPPED),
        "max_steps": Rule(lambda v: v is None or (is_int(v) and v >= -1), UNTIL_STOPPED),
    },
    "optimizer": {"lr": POSITIVE_NUMBER},
}

_ABSENT = object()


def select(config: dict[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` in ``config``, or a sentinel (not ``None``) when it is absent."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def check_rules(config: dict[str, Any], rules: dict[str, Rule], prefix: str = "") -> None:
    """Raise :class:`ConfigError` for the first key of ``config`` that breaks its rule."""
    for key, rule in rules.items():
        value = select(config, key)
        if value is not _ABSENT and not rule.valid(value):
            raise ConfigError(f"{prefix}{key}={value!r} is not valid: use {rule.allowed}.")


def check_top_level(config: dict[str, Any]) -> None:
    check_rules(config, TOP_LEVEL_RULES)
    tags = config.get("tags")
    if tags is not None and not isinstance(tags, list):
        raise ConfigError(
            f"tags={tags!r} is not valid: tags is a list. Write tags=[{tags}] (or tags=[a,b])."
        )
    if not config.get("train", True) and not config.get("test", True):
        raise ConfigError(
            "train=false test=false runs nothing. Set train=true to fit, test=true to evaluate "
            "(with ckpt_path=<checkpoint> when not training)."
        )


def _components(config: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(config key, node)`` of every component the config builds from a ``_target_``."""
    found = []
    for group in GROUP_NAMES:
        node = config.get(group)
        if isinstance(node, dict) and "_target_" in node:
            found.append((group, node))
        elif group in ("callbacks", "logger") and isinstance(node, dict):
            found += [
                (f"{group}.{name}", item)
                for name, item in node.items()
                if isinstance(item, dict) and "_target_" in item
            ]
    head = select(config, "task.head")
    if isinstance(head, dict) and "_target_" in head:
        found.append(("task.head", head))
    return found


def check_components(config: dict[str, Any]) -> None:
    """Every key of every component is a parameter of its class and follows its value rules."""
    for key, node in _components(config):
        cls = check_config_keys(node, key, provided=injected(key))
        check_rules(node, getattr(cls, "value_rules", {}), prefix=f"{key}.")
        adapters = adapter_class(key)
        if adapters is not None:
            check_rules(node, adapters.value_rules, prefix=f"{key}.")
        for own in own_key_classes(key):
            check_rules(node, own.value_rules, prefix=f"{key}.")
    for group, rules in THIRD_PARTY_RULES.items():
        node = config.get(group)
        if isinstance(node, dict):
            check_rules(node, rules, prefix=f"{group}.")


def check_param_budget(config: dict[str, Any]) -> None:
    """``model.param_budget`` needs a core that declares its width key."""
    from rnnlab.models.budget import width_key_of

    model = config.get("model")
    if isinstance(model, dict) and model.get("param_budget") is not None:
        width_key_of(check_config_keys(model, "model", provided=injected("model")))


def check_training_ends(config: dict[str, Any]) -> None:
    """Refuse a fit that Lightning would run forever (no epoch, step or time limit)."""
    trainer = config.get("trainer")
    if not isinstance(trainer, dict) or not config.get("train", True):
        return
    no_epoch_limit = trainer.get("max_epochs", 0) == -1
    no_step_limit = trainer.get("max_steps", -1) in (-1, None)
    if no_epoch_limit and no_step_limit and trainer.get("max_time") is None:
        raise ConfigError(
            "trainer.max_epochs=-1 with no trainer.max_steps or trainer.max_time would train "
            "forever. Train by steps with ++trainer.max_steps=<N> ++trainer.max_epochs=-1, by "
            "time with ++trainer.max_time=00:01:00:00, or give trainer.max_epochs=<N>."
        )


def check_accelerator(config: dict[str, Any]) -> None:
    """``trainer=gpu`` needs a CUDA device."""
    accelerator = str(select(config, "trainer.accelerator"))
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
    check_top_level(config)
    check_components(config)
    check_param_budget(config)
    check_training_ends(config)
    check_accelerator(config)
