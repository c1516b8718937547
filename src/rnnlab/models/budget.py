"""Parameter budgets: size a core's width so that the whole model has about N parameters.

``model.param_budget=N`` makes rnnlab pick the width of the chosen core (the key the core's class
names in its ``width_key`` attribute: ``hidden_size`` for dense cores, ``hidden_channels`` for
convolutional ones) so that the task's trainable parameters (core, frame adapters and head) come as
close to ``N`` as an integer width allows. A list-valued width (one per layer) is scaled by one
factor: its largest entry becomes the searched size and the others keep their proportions.

The search is a bisection over integer sizes; ``count(size)`` builds the model at that size and
counts its parameters (the caller supplies it: this module knows nothing of tasks or torch).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from rnnlab.values import POSITIVE_INT, Rule

Width = int | list[int]
# No model needs more units than this per layer; a count that never reaches the budget below it
# means the width does not drive the parameter count.
MAX_SIZE = 1 << 24


class ParamBudget:
    """The ``model`` config key rnnlab reads itself to size the core (not passed to the core).

    ``param_budget``: the number of trainable parameters the whole model should have (``null``:
    the core's width as configured).
    """

    value_rules: ClassVar[dict[str, Rule]] = {"param_budget": POSITIVE_INT.or_null()}

    def __init__(self, param_budget: int | None = None) -> None:
        self.param_budget = param_budget


@dataclass(frozen=True)
class BudgetFit:
    """The width chosen for a parameter budget and the real parameter count it gives."""

    budget: int
    width_key: str
    width: Width
    parameters: int
    step: int = 0  # parameters that one more unit of width adds (the budget's resolution)

    def as_dict(self) -> dict[str, Any]:
        """The ``param_budget`` field of run.json."""
        return {
            "budget": self.budget,
            "width_key": self.width_key,
            "width": self.width,
            "parameters": self.parameters,
        }

    @property
    def deviation(self) -> float:
        """``parameters / budget - 1`` (e.g. +0.012 is 1.2% over the budget)."""
        return self.parameters / self.budget - 1

    def describe(self) -> str:
        """One line for the console."""
        line = (
            f"param_budget {self.budget:,}: model.{self.width_key}={self.width} -> "
            f"{self.parameters:,} trainable parameters ({self.deviation:+.1%})"
        )
        if self.step and abs(self.deviation) > 0.02:
            line += f"; one more unit of width adds {self.step:,}, so this is the closest"
        return line


def base_width(model: dict[str, Any], core_class: type, width_key: str) -> Width:
    """The configured width (or the constructor's default): the proportions a list keeps."""
    value = model.get(width_key)
    if value is None:
        parameter = inspect.signature(core_class).parameters[width_key]
        value = None if parameter.default is inspect.Parameter.empty else parameter.default
    if isinstance(value, list | tuple) and value and all(_positive_int(v) for v in value):
        return [int(v) for v in value]
    return value if _positive_int(value) else 1  # an integer width: the size is the width


def scale_width(base: Width, size: int) -> Width:
    """The width of searched ``size``: ``size`` itself for an integer width; for a list, every
    entry scaled by one factor so that the largest becomes ``size`` (entries >= 1)."""
    if isinstance(base, int):
        return size
    largest = max(base)
    return [max(1, round(entry * size / largest)) for entry in base]


def fit_width(count: Callable[[int], int], budget: int, max_size: int = MAX_SIZE) -> int:
    """The size whose ``count(size)`` is closest to ``budget`` (the smaller size on a tie).

    ``count`` must not decrease with the size. Doubling finds a size at or over the budget, then
    bisection the smallest such size ``hi``; the answer is ``hi`` or ``hi - 1``. Raises
    :class:`ValueError` when even ``max_size`` stays under the budget.
    """
    counts: dict[int, int] = {}

    def at(size: int) -> int:
        if size not in counts:
            counts[size] = count(size)
        return counts[size]

    hi = 1
    while at(hi) < budget:
        if hi >= max_size:
            raise ValueError(f"size {max_size} gives only {at(hi)} parameters")
        hi = min(hi * 2, max_size)
    lo = hi // 2  # at(lo) < budget, or lo == 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid) < budget:
            lo = mid
        else:
            hi = mid
    if lo >= 1 and budget - at(lo) <= at(hi) - budget:
        return lo
    return hi


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
