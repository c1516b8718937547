"""A Lightning callback for the benchmarks: when each training batch starts and ends, written to a
JSON file when training ends (the benchmarks add it to a real ``rnnlab-train`` run with
``+callbacks.step_clock._target_=step_clock.StepClock +callbacks.step_clock.path=FILE`` and
``benchmarks/`` on the Python path).

The file holds ``{"starts": [...], "ends": [...], "cpu_starts": [...]}``: ``time.time()`` seconds
(comparable across processes, for start-up) of ``on_train_batch_start`` and ``on_train_batch_end``
of every batch, and the process's CPU time (``time.process_time()``, all threads) at each start.
From batch ``i``'s end to batch ``i+1``'s start Lightning fetches the next batch and does its loop
bookkeeping: the time a step waits outside the task's ``training_step``, backward and optimizer.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lightning.pytorch.callbacks import Callback


class StepClock(Callback):
    """Record the wall-clock time at which every training batch starts and ends."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.cpu_starts: list[float] = []

    def on_train_batch_start(
        self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int
    ) -> None:
        self.starts.append(time.time())
        self.cpu_starts.append(time.process_time())

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.ends.append(time.time())

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.write()

    def write(self) -> None:
        self.path.write_text(
            json.dumps({"starts": self.starts, "ends": self.ends, "cpu_starts": self.cpu_starts})
        )


@dataclass(frozen=True)
class StepTimes:
    """Per-step figures of one run, from batch ``warmup`` on (earlier batches left out).

    ``step_s``: mean seconds from one batch's start to the next's (everything a step costs);
    ``gap_s``: median seconds from a batch's end to the next one's start (data fetch and loop
    bookkeeping); ``cpu_step_s``: mean CPU seconds of the process per step (on a loaded machine,
    steady where wall time is not); ``steps``: how many steps were timed.
    """

    step_s: float
    gap_s: float
    cpu_step_s: float
    steps: int

    @property
    def gap_fraction(self) -> float:
        return self.gap_s / self.step_s


def read_step_times(path: Path, warmup: int) -> StepTimes:
    """The figures of a :class:`StepClock` file, leaving out the first ``warmup`` batches."""
    record = json.loads(Path(path).read_text())
    starts, ends = record["starts"][warmup:], record["ends"][warmup:]
    if len(starts) < 2:
        raise RuntimeError(
            f"{path}: only {len(record['starts'])} batches ran; need more than warmup={warmup}"
        )
    timed = len(starts) - 1
    gaps = [start - end for end, start in zip(ends, starts[1:], strict=False)]
    cpu = record["cpu_starts"][warmup:]
    return StepTimes(
        (starts[-1] - starts[0]) / timed, statistics.median(gaps), (cpu[-1] - cpu[0]) / timed, timed
    )
