"""Value rules for config keys. A component declares its own beside its code, as a class attribute
``value_rules = {"batch_size": POSITIVE_INT, ...}``; rnnlab checks them against the composed config
before anything is built (:mod:`rnnlab.config.validate`), so a bad value costs a second, not a run.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnlab.errors import ConfigError


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Rule:
    """``valid(value)`` says whether a value is allowed; ``allowed`` says so in words."""

    valid: Callable[[Any], bool]
    allowed: str

    def or_null(self) -> Rule:
        """The same rule, with ``null`` allowed too."""
        return Rule(lambda v: v is None or self.valid(v), f"{self.allowed}, or null")


POSITIVE_INT = Rule(lambda v: is_int(v) and v > 0, "a whole number >= 1")
NON_NEGATIVE_INT = Rule(lambda v: is_int(v) and v >= 0, "a whole number >= 0")
POSITIVE_NUMBER = Rule(lambda v: is_number(v) and v > 0, "a number > 0")
NON_NEGATIVE_NUMBER = Rule(lambda v: is_number(v) and v >= 0, "a number >= 0")
FRACTION_BELOW_ONE = Rule(lambda v: is_number(v) and 0 <= v < 1, "a number in [0, 1)")
BOOLEAN = Rule(lambda v: isinstance(v, bool), "true or false")
RANGE = Rule(
    lambda v: (
        isinstance(v, list | tuple)
        and len(v) == 2
        and all(is_number(x) and x >= 0 for x in v)
        and v[0] <= v[1]
    ),
    "a pair [min, max] of numbers >= 0 with min <= max",
)


def one_of(*options: Any) -> Rule:
    """A rule allowing exactly ``options``."""
    return Rule(lambda v: v in options, "one of " + ", ".join(map(str, options)))


def list_of(rule: Rule) -> Rule:
    """A list (or a single value) whose items follow ``rule``."""
    return Rule(
        lambda v: isinstance(v, list | tuple) and len(v) > 0 and all(rule.valid(x) for x in v),
        f"a non-empty list of {rule.allowed.removeprefix('a ')}",
    )


def width_key_of(core_class: type) -> str:
    """The config key of ``core_class``'s width (its ``width_key`` attribute), or a clear error."""
    key = getattr(core_class, "width_key", None)
    name = f"{core_class.__module__}.{core_class.__qualname__}"
    if not isinstance(key, str) or not key:
        raise ConfigError(
            f"model.param_budget needs a core that declares which key sets its width, but {name} "
            "has no `width_key` class attribute. Add one to the class (e.g. "
            '`width_key = "hidden_size"`, the constructor argument that sets the width), or set '
            "model.param_budget=null and size the model by hand."
        )
    try:
        parameters = inspect.signature(core_class).parameters
    except (TypeError, ValueError):
        return key
    if key not in parameters:
        raise ConfigError(
            f"{name}.width_key={key!r} is not an argument of its constructor, so "
            "model.param_budget cannot set it. Point width_key at the argument that sets the "
            f"core's width (one of: {', '.join(parameters)})."
        )
    return key
