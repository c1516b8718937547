"""At the end of every multirun, compare its runs: the sweep's last screen answers its question.

Registered in ``rnnlab/conf/hydra/default.yaml`` under ``hydra.callbacks``. The top-level config
key ``compare`` (true in train.yaml) turns it off: ``rnnlab-train -m ... compare=false``; configs
without the key (rnnlab-eval's) are left alone. It never fails a sweep: whatever goes wrong is
said in one paragraph, and ``rnnlab-compare <sweep dir>`` repeats it.

Hydra calls ``on_multirun_end`` only when every job succeeded: its sweeper re-raises a failed
job's error once the batch is done, and the process exits with that error. So the comparison is
also registered with ``atexit`` when the multirun starts, and runs there if the sweep did not end
normally (partly failed, or stopped): such a sweep gets its comparison too, failed runs counted.
"""

from __future__ import annotations

import atexit
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class CompareAtSweepEnd(Callback):
    """Writes comparison.md/.csv/.png into the sweep directory and prints the tables."""

    def __init__(self, plot: bool = True) -> None:
        self.plot = plot
        self.sweep_dir: Path | None = None

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            if config.get("compare", False):  # train.yaml says true; rnnlab-eval has no key
                self.sweep_dir = Path(str(config.hydra.sweep.dir))
                atexit.register(self._compare_once)
        except Exception as error:
            _say(error)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        atexit.unregister(self._compare_once)
        self._compare_once()

    def _compare_once(self) -> None:
        sweep_dir, self.sweep_dir = self.sweep_dir, None
        if sweep_dir is None:
            return
        try:
            self._compare(sweep_dir)
        except Exception as error:  # never fail a sweep over its report
            _say(error)

    def _compare(self, sweep_dir: Path) -> None:
        from rich.console import Console

        from rnnlab.report.render import rich_tables
        from rnnlab.report.write import write_report

        report = write_report([sweep_dir], plot=self.plot)
        console = Console()
        console.print()
        for item in rich_tables(report.comparison, console.width):
            console.print(item, soft_wrap=isinstance(item, str))
        for path in report.files:
            console.print(f"wrote {path}", soft_wrap=True, highlight=False)


def _say(error: Exception) -> None:
    from rnnlab.errors import RnnlabError

    reason = str(error) if isinstance(error, RnnlabError) else f"{type(error).__name__}: {error}"
    print(
        f"\nrnnlab-compare: no comparison for this sweep. {reason} (The sweep's runs are kept; "
        "`rnnlab-compare <sweep dir>` compares them again, compare=false skips this step.)\n",
        file=sys.stderr,
        flush=True,
    )
