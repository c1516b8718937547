"""Hydra override syntax -> Optuna distributions (the old hydra-optuna-sweeper's rules).

- ``choice(a, b, c)`` -> categorical
- ``range(start, stop[, step])`` -> integers (floats if any bound is a float), both ends included
  as with the old plugin (``range(1, 3)`` draws 1, 2 or 3; Hydra's grid would stop at 2);
  ``shuffle(range(...))`` -> categorical of Hydra's values
- ``interval(low, high)`` -> uniform float (Hydra reads its bounds as floats: use ``range()``
  for whole numbers); ``tag(log, interval(low, high))`` -> log-uniform
- anything else (``key=value``, ``~key``, ``+key=value``) is passed to every trial as it is
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from rnnlab.errors import ConfigError


@dataclass
class SearchSpace:
    """What a search varies (``distributions``, by override key) and what it fixes
    (``fixed``: override strings given to every trial)."""

    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    fixed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_overrides(cls, overrides: list[str]) -> SearchSpace:
        """Later overrides of the same key replace earlier ones (command line after config)."""
        space = cls()
        for override in OverridesParser.create().parse_overrides(overrides):
            key = override.get_key_element()
            bare = key.lstrip("+~")
            space.distributions.pop(bare, None)
            space.fixed.pop(bare, None)
            if override.is_sweep_override():
                space.distributions[bare] = distribution(override)
            else:
                assert override.input_line is not None
                space.fixed[bare] = override.input_line
        return space

    def trial_overrides(self, params: dict[str, Any]) -> list[str]:
        """The task overrides of one trial: the fixed ones, then ``key=value`` per parameter."""
        return [*self.fixed.values(), *(f"{key}={format_value(v)}" for key, v in params.items())]

    def grid(self) -> dict[str, list[Any]]:
        """Every value of every parameter, for ``optuna.samplers.GridSampler``."""
        grid = {}
        for key, dist in self.distributions.items():
            if isinstance(dist, CategoricalDistribution):
                grid[key] = list(dist.choices)
            elif isinstance(dist, IntDistribution) and not dist.log:
                grid[key] = list(range(dist.low, dist.high + 1, dist.step))
            else:
                raise ConfigError(
                    f"hydra.sweeper.params.{key}: GridSampler needs choice() or range() of "
                    "integers, not a continuous interval."
                )
        return grid


def _plain(values: list[Any], key: str) -> list[Any]:
    for value in values:
        if not isinstance(value, str | int | float | bool | type(None)):
            raise ConfigError(
                f"hydra.sweeper.params.{key}: a choice must hold numbers, strings, booleans or "
                f"null, not {value!r}."
            )
    return values


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override."""
    key = override.get_key_element()
    value = override.value()
    if override.is_choice_sweep() or (isinstance(value, RangeSweep) and value.shuffle):
        return CategoricalDistribution(
            _plain(list(override.sweep_iterator(transformer=Transformer.encode)), key)
        )
    if isinstance(value, RangeSweep):
        start, stop, step = value.start, value.stop, value.step
        if any(isinstance(x, float) for x in (start, stop, step)):
            return FloatDistribution(float(start), float(stop), step=float(step))
        return IntDistribution(int(start), int(stop), step=int(step))
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    raise ConfigError(  # e.g. glob(): Optuna needs explicit values
        f"{override.input_line}: Optuna cannot search this override; use choice(), range(), "
        "interval() or tag(log, interval())."
    )


def format_value(value: Any) -> str:
    """A sampled value as Hydra override text (categorical values are already encoded)."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return str(value)
