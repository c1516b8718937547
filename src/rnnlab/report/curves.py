"""Learning curves from a run's TensorBoard event files (tensorboard's EventAccumulator)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnlab.report.runs import Run


def tensorboard_dir(run: Run) -> Path | None:
    """The run's TensorBoard folder: as recorded, else the folder of the event files under
    ``<run dir>/tensorboard`` (a sweep that was moved or copied keeps them beside its run.json)."""
    recorded = run.record.get("tensorboard_dir")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    events = sorted((run.path / "tensorboard").rglob("events.out.tfevents.*"))
    return events[0].parent if events else None


def scalar_curve(run: Run, tag: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(steps, values) of scalar ``tag`` in the run's events (the last value per step), or None."""
    folder = tensorboard_dir(run)
    if folder is None:
        return None
    from tensorboard.backend.event_processing.event_accumulator import (
        SCALARS,
        EventAccumulator,
    )

    # its directory watcher logs each event file at INFO, which a sweep's console would show
    logging.getLogger("tensorboard").setLevel(logging.WARNING)
    try:
        events = EventAccumulator(str(folder), size_guidance={SCALARS: 0, "images": 1})
        events.Reload()
        if tag not in events.Tags().get(SCALARS, []):
            return None
        by_step = {event.step: event.value for event in events.Scalars(tag)}
    except Exception:  # a truncated event file (a run still writing, or killed): no curve
        return None
    steps = np.array(sorted(by_step), dtype=float)
    return steps, np.array([by_step[s] for s in sorted(by_step)], dtype=float)


def mean_band(
    curves: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Mean and std over runs at each step that any run logged (runs of one group log the same
    steps; a run that stopped early drops out of the later steps)."""
    if not curves:
        return None
    steps = np.unique(np.concatenate([s for s, _ in curves]))
    mean, std = [], []
    for step in steps:
        values = [v[s == step][0] for s, v in curves if np.any(s == step)]
        values = [x for x in values if math.isfinite(x)]
        mean.append(np.mean(values) if values else np.nan)
        std.append(np.std(values, ddof=1) if len(values) > 1 else 0.0)
    return steps, np.array(mean), np.array(std)
