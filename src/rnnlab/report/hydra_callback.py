"""At the end of every multirun, compare its runs: the sweep's last screen answers its question.

Registered in ``rnnlab/conf/hydra/default.yaml`` under ``hydra.callbacks``; the top-level config key
``compare`` (default true) turns it off: ``rnnlab-train -m ... compare=false``. It never fails a
sweep: whatever goes wrong is said in one paragraph, and ``rnnlab-compare <sweep dir>`` repeats it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class CompareAtSweepEnd(Callback):
    """Writes comparison.md/.csv/.png into the sweep directory and prints the table."""

    def __init__(self, plot: bool = True) -> None:
        self.plot = plot

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            if not config.get("compare", True):
                return
            sweep_dir = Path(str(config.hydra.sweep.dir))
            self._compare(sweep_dir)
        except Exception as error:  # never fail a finished sweep over its report
            from rnnlab.errors import RnnlabError

            reason = (
                str(error) if isinstance(error, RnnlabError) else f"{type(error).__name__}: {error}"
            )
            print(
                f"\nrnnlab-compare: no comparison for this sweep. {reason} (The sweep's runs are "
                "kept; `rnnlab-compare <sweep dir>` compares them again, compare=false skips "
                "this step.)\n",
                file=sys.stderr,
                flush=True,
            )

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
