"""Validate a composed config before anything is built: a typo costs a second, not a run.

Checks, each failing with a :class:`ConfigError` that names the key, the bad value and what is
allowed: the top-level keys, the value rules each component declares beside its code
(``value_rules`` on the class a group's ``_target_`` names), every key of every ``_target_``
group against the parameters of the class it builds (and the keys rnnlab reads itself, such as
``model.param_budget``, against their own rules), a parameter budget's core declaring its width,
the metrics monitored against those the task declares it logs (``fit_metrics``), that training
ends and that the accelerator exists.
"""

from __future__ import annotations

import difflib
from typing import Any

from rnnlab.config.builder import (
    adapter_class,
    check_config_keys,
    import_target,
    own_key_classes,
)
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
    width_key_of,
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
# What Lightning's ModelCheckpoint/EarlyStopping can monitor besides the metrics a task logs.
LIGHTNING_MONITORS = ("epoch", "step")


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
    if not config.get("train", True) and config.get("ckpt_path") is None:
        raise ConfigError(
            "train=false test=true without ckpt_path would test randomly initialised weights. "
            "Give the weights to test: ckpt_path=<path/to/file.ckpt> (or ckpt_path=last for this "
            "run directory's last checkpoint), or use rnnlab-eval ckpt_path=<file>."
        )
    trainer = config.get("trainer") or {}
    if config.get("train", True) and _is_zero(trainer.get("limit_train_batches")):
        raise ConfigError(
            "trainer.limit_train_batches=0 trains on no batch: the run would test (and record "
            "as completed) weights that never trained. To evaluate a checkpoint, use train=false "
            "ckpt_path=<path/to/file.ckpt> (or rnnlab-eval); to train on part of each epoch, use "
            "a fraction in (0, 1] or a whole number of batches >= 1."
        )
    if not config.get("train", True) and _is_zero(trainer.get("limit_test_batches")):
        raise ConfigError(
            "trainer.limit_test_batches=0 runs nothing here: testing is the only stage "
            "(train=false, or rnnlab-eval) and it would see no batch. Remove "
            "trainer.limit_test_batches (or use a fraction in (0, 1] or a whole number of "
            "batches >= 1)."
        )


def _is_zero(value: Any) -> bool:
    """A Trainer ``limit_*_batches`` value of no batch at all (``0`` or ``0.0``)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


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
        if key == "trainer":
            check_trainer_logger(node)
            node = {name: value for name, value in node.items() if name != "logger"}
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


def check_trainer_logger(trainer: dict[str, Any]) -> None:
    """``++trainer.logger=false`` turns logging off (as ``logger=null``); the loggers themselves
    come from the ``logger`` group, which rnnlab passes to the Trainer."""
    value = trainer.get("logger", False)
    if value is not None and not isinstance(value, bool):
        raise ConfigError(
            f"trainer.logger={value!r} is not valid: use false (no logging) or true (the logger "
            "group). Choose loggers with the logger group: logger=tensorboard, logger=csv, or "
            "logger=null for none."
        )


def check_monitored_metrics(config: dict[str, Any]) -> None:
    """``monitor.metric`` and every callback's ``monitor`` name a metric the task logs while
    fitting (as its class declares in ``fit_metrics``); a task that declares none is not checked.
    """
    task = config.get("task")
    if not isinstance(task, dict) or "_target_" not in task or not config.get("train", True):
        return
    logged = getattr(import_target(task["_target_"], "task"), "fit_metrics", None)
    if logged is None:
        return
    monitors = [("monitor.metric", select(config, "monitor.metric"))]
    callbacks = config.get("callbacks")
    if isinstance(callbacks, dict):
        monitors += [
            (f"callbacks.{name}.monitor", node.get("monitor"))
            for name, node in callbacks.items()
            if isinstance(node, dict)
        ]
    for key, metric in monitors:
        if metric in (None, _ABSENT) or metric in logged or metric in LIGHTNING_MONITORS:
            continue
        close = difflib.get_close_matches(str(metric), sorted(logged), n=1, cutoff=0.5)
        hint = f" Did you mean {key}={close[0]}?" if close else ""
        raise ConfigError(
            f"{key}={metric!r} is not a metric the task ({task['_target_']}) logs while "
            f"training, so nothing could be monitored by it.{hint} It logs: "
            f"{', '.join(sorted(logged))}."
        )


def check_early_stopping_can_see_its_metric(config: dict[str, Any]) -> None:
    """An early-stopping callback (``EarlyStopping`` or a subclass) on a ``val/`` metric needs
    validation: with ``trainer.limit_val_batches=0`` Lightning fails after the first epoch."""
    from lightning.pytorch.callbacks import EarlyStopping

    trainer = config.get("trainer") or {}
    callbacks = config.get("callbacks")
    if not config.get("train", True) or not _is_zero(trainer.get("limit_val_batches")):
        return
    for name, node in (callbacks if isinstance(callbacks, dict) else {}).items():
        if not isinstance(node, dict) or "_target_" not in node:
            continue
        monitored = str(node.get("monitor"))
        cls = import_target(node["_target_"], f"callbacks.{name}")
        stops_early = isinstance(cls, type) and issubclass(cls, EarlyStopping)
        if stops_early and monitored.startswith("val/"):
            raise ConfigError(
                f"trainer.limit_val_batches=0 runs no validation, but callbacks.{name} stops "
                f"early on {monitored}, which only validation logs (Lightning would fail "
                "after the first epoch). Remove the early-stopping callback, point "
                f"callbacks.{name}.monitor at a train/ metric, or validate on some batches."
            )


def check_param_budget(config: dict[str, Any]) -> None:
    """``model.param_budget`` needs a core that declares its width key."""
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
    """``trainer.accelerator`` names an accelerator Lightning knows and this machine has."""
    accelerator = select(config, "trainer.accelerator")
    if not isinstance(accelerator, str) or accelerator in ("auto", "cpu"):
        return
    if accelerator in {"gpu", "cuda"}:
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"trainer.accelerator={accelerator} (trainer=gpu), but this machine has no CUDA "
                "GPU that torch can use. Run on the CPU with trainer=cpu, or install a CUDA "
                "build of torch on a machine with a GPU."
            )
        return
    from lightning.pytorch.accelerators import AcceleratorRegistry

    known = sorted({*AcceleratorRegistry.available_accelerators(), "auto", "gpu"})
    if accelerator not in AcceleratorRegistry:
        raise ConfigError(
            f"trainer.accelerator={accelerator!r} is not an accelerator Lightning knows. Use one "
            f"of: {', '.join(known)}."
        )
    if not AcceleratorRegistry[accelerator]["accelerator"].is_available():
        needs = " (a TPU needs torch_xla installed)" if accelerator == "tpu" else ""
        raise ConfigError(
            f"trainer.accelerator={accelerator}, but this machine has no {accelerator.upper()} "
            f"that Lightning can use{needs}. Run on the CPU with trainer=cpu (or "
            "++trainer.accelerator=auto)."
        )


def validate_config(config: dict[str, Any]) -> None:
    """Run every check on the resolved ``config``; raise :class:`ConfigError` on the first."""
    check_top_level(config)
    check_components(config)
    check_monitored_metrics(config)
    check_early_stopping_can_see_its_metric(config)
    check_param_budget(config)
    check_training_ends(config)
    check_accelerator(config)
