"""Where rnnlab's Hydra configs live, and conversions between configs and primitives."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.utils import get_class
from omegaconf import DictConfig, OmegaConf

from rnnlab.errors import ConfigError

# Editable installs and the repository itself: conf/ sits two levels above this package.
CONFIG_DIR = Path(__file__).resolve().parents[2] / "conf"


def config_dir() -> str:
    """Absolute path of rnnlab's ``conf/`` directory."""
    if not (CONFIG_DIR / "train.yaml").is_file():
        raise ConfigError(
            f"rnnlab's configs are not at {CONFIG_DIR}. Install rnnlab from its repository in "
            "editable mode (`make train` or `pip install -e .`), which keeps conf/ beside src/."
        )
    return str(CONFIG_DIR)


def to_primitive(node: Any) -> Any:
    """A resolved config node as plain dicts/lists/scalars (safe for checkpoints and JSON)."""
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    return node


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


def check_config_keys(config: dict[str, Any], key: str, provided: Sequence[str] = ()) -> type:
    """Import ``config['_target_']`` and check every other key is one of its parameters.

    ``provided`` names the arguments rnnlab passes itself (e.g. ``input_size``); they are not
    config keys. Returns the class. Raises :class:`ConfigError` naming the key and the allowed
    ones.
    """
    cls = import_target(config.get("_target_"), key)
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):  # builtins without a signature: nothing to check
        return cls
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return cls
    allowed = [
        name
        for name, p in params.items()
        if name not in provided
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY)
    ]
    for name in config:
        if name != "_target_" and name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" Did you mean {key}.{close[0]}?" if close else ""
            raise ConfigError(
                f"{key}.{name} is not a parameter of {cls.__module__}.{cls.__qualname__}.{hint} "
                f"Allowed keys: {', '.join(allowed)}."
            )
    return cls


def build_from_config(config: dict[str, Any], key: str, **extra: Any) -> Any:
    """Build ``config['_target_'](**config, **extra)`` from a primitive config at ``key``.

    Unlike ``hydra.utils.instantiate``, nested dicts are passed as they are (tasks build their
    core and head from such dicts), and an unknown keyword gets an error naming the config key.
    """
    cls = check_config_keys(config, key, provided=list(extra))
    kwargs = {name: value for name, value in config.items() if name != "_target_"}
    return cls(**kwargs, **extra)
