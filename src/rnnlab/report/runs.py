"""Find the runs of one or more sweeps, read their run.json, and say how they differ.

A run is a directory with a ``run.json`` (schema: :mod:`rnnlab.run.record`); a sweep is a folder of
them (Hydra's ``<sweep dir>/<job num>/``), found at any depth. What defines a run for comparison
is its *setting*: the config group choices (``model=gru``) and every key the user overrode
(``optimizer.lr=0.01``), looked up in the resolved config of runs that did not override it. The
keys whose value differs between runs split them into groups, except seed keys (a seed is what a
group's runs are repeated over).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rnnlab.errors import RnnlabError
from rnnlab.run.record import RUN_RECORD

# Overrides that say where or how a run is carried out, not what it is.
NOT_A_SETTING = ("hydra", "paths", "resume", "ckpt_path", "compare", "train", "test")
STATUSES = ("completed", "failed", "pruned", "interrupted", "running")
MISSING = "—"
GROUP_ORDER = ("model", "task", "data", "optimizer", "experiment", "trainer")


class CompareError(RnnlabError):
    """rnnlab-compare cannot compare what it was given (no runs, unknown metric, ...)."""


@dataclass
class Run:
    """One run directory's record, and its setting (key -> value as text)."""

    path: Path
    record: dict[str, Any]
    setting: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.record.get("status") or "running")

    @property
    def seed(self) -> Any:
        return (self.record.get("config") or {}).get("seed")

    @property
    def final(self) -> dict[str, float]:
        final = ((self.record.get("metrics") or {}).get("final")) or {}
        return {k: float(v) for k, v in final.items() if isinstance(v, int | float)}

    @property
    def monitor(self) -> tuple[str | None, str | None]:
        monitor = (self.record.get("config") or {}).get("monitor") or {}
        return monitor.get("metric"), monitor.get("mode")

    @property
    def per_horizon(self) -> dict[str, list[float]]:
        """Optional ``metrics.per_horizon``: {metric: [value at horizon 1, 2, ...]}."""
        curves = (self.record.get("metrics") or {}).get("per_horizon") or {}
        return {k: [float(x) for x in v] for k, v in curves.items() if isinstance(v, list)}

    def number(self, *keys: str) -> float | None:
        node: Any = self.record
        for key in keys:
            node = node.get(key) if isinstance(node, Mapping) else None
        return float(node) if isinstance(node, int | float) else None


def find_runs(folders: Sequence[Path]) -> list[Run]:
    """Every run directory under ``folders`` (each a sweep, a run, or a folder of sweeps)."""
    runs: list[Run] = []
    seen: set[Path] = set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise CompareError(
                f"{folder} is not a directory. Pass the sweep directory of `rnnlab-train -m` "
                "(outputs/multirun/<date>/<time>) or run directories that hold a run.json."
            )
        paths = [folder / RUN_RECORD] if (folder / RUN_RECORD).is_file() else []
        paths += sorted(folder.rglob(f"*/{RUN_RECORD}"), key=_natural_key)
        for path in paths:
            if path.resolve() in seen or ".hydra" in path.parts:
                continue
            seen.add(path.resolve())
            runs.append(Run(path.parent, _read(path)))
    if not runs:
        where = ", ".join(str(f) for f in folders)
        raise CompareError(
            f"No run.json under {where}. rnnlab-compare reads the run directories that "
            "rnnlab-train writes: pass a sweep directory (outputs/multirun/<date>/<time>, one "
            "run.json per job) or run directories."
        )
    describe_settings(runs)
    return runs


def _natural_key(path: Path) -> list[Any]:
    return [int(p) if p.isdigit() else p for p in path.parts]


def _read(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        # a run.json being rewritten at this moment is replaced atomically: only a broken file
        # or a foreign one lands here
        return {"status": "failed", "failure": f"unreadable run.json ({error})"}
    return record if isinstance(record, dict) else {"status": "failed", "failure": "bad run.json"}


def _override_key(override: str) -> tuple[str, str] | None:
    key, sep, value = override.lstrip("+~").partition("=")
    return (key.strip(), value.strip()) if sep else None


def _lookup(config: Any, dotted: str) -> Any:
    node = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return MISSING
        node = node[part]
    return node


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Mapping | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _is_setting(key: str) -> bool:
    return key.split(".")[0].split("/")[0] not in NOT_A_SETTING


def is_seed_key(key: str) -> bool:
    """``seed`` and keys named ``seed`` under a group (``data.seed``): what runs repeat over."""
    return key.rpartition(".")[2] == "seed"


def describe_settings(runs: Iterable[Run]) -> None:
    """Fill each run's ``setting``: group choices, then every key any run overrode."""
    runs = list(runs)
    groups: set[str] = set()
    keys: set[str] = set()
    for run in runs:
        groups.update(k for k in (run.record.get("choices") or {}) if _is_setting(k))
        for override in run.record.get("overrides") or []:
            parsed = _override_key(str(override))
            if parsed and _is_setting(parsed[0]) and parsed[0] not in groups:
                keys.add(parsed[0])
    keys -= groups
    for run in runs:
        choices = run.record.get("choices") or {}
        overrides = dict(
            filter(None, map(_override_key, map(str, run.record.get("overrides") or [])))
        )
        config = run.record.get("config") or {}
        ordered = sorted(
            groups, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 99, g)
        )
        setting = {g: _text(choices[g]) if g in choices else MISSING for g in ordered}
        for key in sorted(keys):
            value = _lookup(config, key)
            setting[key] = _text(value) if value is not MISSING else overrides.get(key, MISSING)
        run.setting = setting


def varying_keys(runs: Sequence[Run]) -> list[str]:
    """Setting keys whose value differs between runs (seed keys included), group choices first."""
    keys: list[str] = []
    for key in runs[0].setting if runs else []:
        if len({run.setting.get(key) for run in runs}) > 1:
            keys.append(key)
    return keys
