"""``rnnlab-compare``: compare the runs of one or more sweeps: table, plot and verdict.

rnnlab-compare outputs/multirun/2026-01-01/12-00-00
rnnlab-compare SWEEP [MORE ...] --by model --metric test/acc --baseline rnn --no-plot
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rnnlab.errors import RnnlabError, exit_with

EPILOG = """\
Groups: by default the runs are grouped by every config choice and overridden key that differs
between them, except the seed; task and data split the runs into separate studies (--across).
With --by, other varying keys are pooled within each group (e.g. a search's trials). Per group:
runs (completed/failed/pruned/running), mean ± std, 95%% t- and bootstrap intervals, interquartile
mean, parameters, wall time, samples/s. Against the best group (or --baseline): the difference with
its 95%% CI, Welch's t-test (paired t-test where the seeds match), Holm-corrected p-values and the
probability of improvement. Several studies with more than two variants: average ranks, Friedman
test and a critical-difference diagram. Writes comparison.md, comparison.csv and comparison.png
into the first folder (or --out).
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rnnlab-compare",
        description="Compare the runs of rnnlab sweeps: which variant is better, and is the "
        "difference real?",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "folders",
        nargs="+",
        type=Path,
        metavar="SWEEP_DIR",
        help="sweep directories (outputs/multirun/<date>/<time>) or run directories",
    )
    p.add_argument(
        "--by",
        action="append",
        default=[],
        metavar="KEY",
        help="group by this key (repeat or comma-separate: --by model,optimizer.lr); the "
        "other varying keys, except task/data (studies) and the seed, are pooled within groups",
    )
    p.add_argument(
        "--across",
        action="append",
        default=[],
        metavar="KEY",
        help="compare the groups separately for each value of this key, and rank them across "
        "(default: task and data where they vary)",
    )
    p.add_argument(
        "--metric",
        help="the metric to compare (default: the test value of the "
        "monitored metric, e.g. test/loss)",
    )
    p.add_argument(
        "--mode",
        choices=("min", "max"),
        help="whether lower or higher --metric is "
        "better (default: from the monitor or the metric's name)",
    )
    p.add_argument(
        "--baseline",
        metavar="GROUP",
        help="compare every group with this one (default: the best group)",
    )
    p.add_argument("--out", type=Path, help="where to write the files (default: the first folder)")
    p.add_argument("--no-plot", action="store_true", help="skip comparison.png")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Console script ``rnnlab-compare``."""
    args = parser().parse_args(argv)
    by, across = (
        [key.strip() for value in values for key in value.split(",") if key.strip()]
        for values in (args.by, args.across)
    )
    try:
        from rich.console import Console

        from rnnlab.report.render import rich_tables
        from rnnlab.report.write import write_report

        report = write_report(
            args.folders,
            out=args.out,
            by=by,
            across=across,
            metric=args.metric,
            baseline=args.baseline,
            mode=args.mode,
            plot=not args.no_plot,
        )
    except RnnlabError as error:
        exit_with(error)
    console = Console()
    for item in rich_tables(report.comparison, console.width):
        console.print(item, soft_wrap=isinstance(item, str))
    for path in report.files:
        console.print(f"wrote {path}", soft_wrap=True, highlight=False)


if __name__ == "__main__":
    main(sys.argv[1:])
