"""The one builder of components from ``_target_`` config dicts, and the key checks it makes."""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Sequence
from typing import Any

from hydra.utils import get_class

from rnnlab.config.groups import ADAPTERS, OWN_KEYS, injected
from rnnlab.errors import ConfigError, RnnlabError


def import_target(target: str | None, key: str) -> type:
    """The class a config's ``_target_`` names; a clear error naming ``key`` when it cannot load."""
    if not target:
        raise ConfigError(f"{key} has no _target_: point it at the class to build.")
    try:
        return get_class(target)
    except Exception as error:  # hydra wraps ImportError/AttributeError in long chains
        raise ConfigError(
            f"{key}._target_={target!r} cannot be imported ({type(error).__name__}: "
            f"{str(error).splitlines()[0]}). Check the dotted path and that its module is on "
            "PYTHONPATH."
        ) from None


def adapter_class(key: str) -> type | None:
    """The class whose parameters are the adapter keys at ``key`` (:data:`groups.ADAPTERS`)."""
    target = ADAPTERS.get(key)
    return import_target(target, key) if target else None


def adapter_keys(key: str) -> tuple[str, ...]:
    """The config keys rnnlab reads itself at ``key`` (e.g. ``model.encoder``)."""
    cls = adapter_class(key)
    return tuple(inspect.signature(cls).parameters) if cls else ()


def split_adapter_keys(config: dict[str, Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``config`` as ``(the component's own keys with _target_, the adapter keys)``."""
    keys = adapter_keys(key)
    own = {name: value for name, value in config.items() if name not in keys}
    return own, {name: value for name, value in config.items() if name in keys}


def own_key_classes(key: str) -> tuple[type, ...]:
    """The classes whose parameters are the keys rnnlab reads itself at ``key``
    (:data:`rnnlab.config.groups.OWN_KEYS`)."""
    return tuple(import_target(target, key) for target in OWN_KEYS.get(key, ()))


def own_keys(key: str) -> tuple[str, ...]:
    """The config keys rnnlab reads itself at ``key`` (e.g. ``model.param_budget``)."""
    return tuple(name for cls in own_key_classes(key) for name in inspect.signature(cls).parameters)


# Classes whose ``**kwargs`` go on to another callable, whose parameters are then their keys too
# (the values name the callable and the parameters the class sets itself): Lightning's TensorBoard
# loggers pass them to the ``SummaryWriter`` they create.
KWARGS_PASSED_ON: dict[str, tuple[str, tuple[str, ...]]] = {
    "lightning.fabric.loggers.tensorboard.TensorBoardLogger": (
        "torch.utils.tensorboard.SummaryWriter",
        ("log_dir",),
    ),
}


def kwargs_target(cls: type) -> dict[str, inspect.Parameter]:
    """The parameters ``cls`` accepts through ``**kwargs`` (:data:`KWARGS_PASSED_ON`), or {}."""
    for base in getattr(cls, "__mro__", ()):
        passed_on = KWARGS_PASSED_ON.get(f"{base.__module__}.{base.__qualname__}")
        if passed_on is not None:
            target, set_by_class = passed_on
            params = inspect.signature(import_target(target, target)).parameters
            return {name: p for name, p in params.items() if name not in set_by_class}
    return {}


def check_config_keys(config: dict[str, Any], key: str, provided: Sequence[str] = ()) -> type:
    """Import ``config['_target_']`` and check every other key is one of its parameters (or an
    adapter key rnnlab reads itself at ``key``).

    ``provided`` names the arguments rnnlab passes itself (e.g. ``input_size``); they are not
    config keys. Returns the class. Raises :class:`ConfigError` naming the key and the allowed
    ones.
    """
    cls = import_target(config.get("_target_"), key)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return cls
    forwarded = kwargs_target(cls)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()) and not forwarded:
        return cls
    allowed = [
        name
        for name, p in [*params.items(), *forwarded.items()]
        if name not in provided
        and p.kind
        not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
            inspect.Parameter.POSITIONAL_ONLY,
        )
    ]
    allowed += [name for name in adapter_keys(key) if name not in allowed]
    allowed += [name for name in own_keys(key) if name not in allowed]
    for name in config:
        if name != "_target_" and name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {key}.{close[0]}?" if close else ""
            raise ConfigError(
                f"{key}.{name} is not a parameter of {cls.__module__}.{cls.__qualname__}.{hint} "
                f"Allowed keys: {', '.join(allowed)}."
            )
    return cls


def build_from_config(config: dict[str, Any], key: str, **injected_args: Any) -> Any:
    """Build ``config['_target_'](**config, **injected_args)`` from a primitive config at ``key``.

    The one builder of rnnlab's components. ``injected_args`` must be those
    :data:`rnnlab.config.groups.INJECTED` declares for ``key``. Nested dicts are passed as they are
    (tasks build their core and head from such dicts). Adapter keys (:func:`adapter_keys`) are left
    out: the caller reads them (:func:`split_adapter_keys`). Keys rnnlab reads itself before
    building (:func:`own_keys`) are not passed either; they must be resolved first (``null``): a
    ``model.param_budget`` reaching the builder is a bug. An unknown keyword, or any error the
    class raises while it is built, becomes a :class:`ConfigError` naming the config key.
    """
    declared = injected(key)
    undeclared = set(injected_args) - set(declared)
    if undeclared:
        raise TypeError(f"{key}: {sorted(undeclared)} are not declared in groups.INJECTED[{key!r}]")
    cls = check_config_keys(config, key, provided=declared)
    own, _ = split_adapter_keys(config, key)
    reserved = own_keys(key)
    unresolved = [name for name in reserved if own.get(name) is not None]
    if unresolved:
        raise TypeError(f"{key}: resolve {unresolved} before building (cli.assemble.size_model)")
    kwargs = {
        name: value for name, value in own.items() if name != "_target_" and name not in reserved
    }
    try:
        return cls(**kwargs, **injected_args)
    except RnnlabError:
        raise
    except Exception as error:
        first = (str(error).strip().splitlines() or [""])[0].strip().rstrip(".")
        suspects = keys_named_in(kwargs, first)
        culprit = (
            " with " + ", ".join(f"{key}.{name}={kwargs[name]!r}" for name in suspects)
            if suspects
            else ""
        )
        look_at = f"{key}.{suspects[0]}" if len(suspects) == 1 else f"the {key}.* values"
        raise ConfigError(
            f"{key} ({config['_target_']}) could not be built{culprit}: "
            f"{type(error).__name__}: {first}. Check {look_at} (`rnnlab-train --cfg job` prints "
            "the composed config)."
        ) from None


def keys_named_in(kwargs: dict[str, Any], message: str) -> list[str]:
    """The keys of ``kwargs`` an error ``message`` points at: the key's name, or its (text or
    number) value quoted, appears in the message; for a message about ``NoneType``, the keys set
    to null. Best effort, for naming the culprit."""
    found = []
    for name, value in kwargs.items():
        quoted = isinstance(value, str | int | float) and not isinstance(value, bool)
        if (
            re.search(rf"\b{re.escape(name)}\b", message, re.IGNORECASE)
            or (quoted and re.search(rf"['\"`]{re.escape(str(value))}['\"`]", message))
            or (value is None and "NoneType" in message)
        ):
            found.append(name)
    return found
