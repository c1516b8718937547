"""The ``extras`` config group: conveniences around a run, applied before anything is built.

``extras.print_config`` prints the composed config as a tree; ``extras.ignore_warnings``
silences Python warnings. A config without ``extras`` (e.g. one saved by an older rnnlab) gets
the defaults.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from rnnlab.config.validate import check_rules
from rnnlab.values import BOOLEAN, Rule

RULES: dict[str, Rule] = {"print_config": BOOLEAN, "ignore_warnings": BOOLEAN}


@dataclass(frozen=True)
class Extras:
    print_config: bool = True
    ignore_warnings: bool = False


def apply_extras(config: dict[str, Any]) -> Extras:
    """Check ``config['extras']`` (a :class:`~rnnlab.errors.ConfigError` names a bad value),
    apply what takes effect at once (``ignore_warnings``), and return the settings."""
    node = config.get("extras") or {}
    check_rules(node, RULES, prefix="extras.")
    extras = Extras(**{key: node[key] for key in RULES if key in node})
    if extras.ignore_warnings:
        warnings.filterwarnings("ignore")
    return extras
