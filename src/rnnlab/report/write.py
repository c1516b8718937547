"""Compare the runs under some folders and write comparison.md / .csv / .png beside them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnlab.report.analysis import Comparison, compare
from rnnlab.report.render import markdown, write_csv
from rnnlab.report.runs import CompareError

FILES = ("comparison.md", "comparison.csv", "comparison.png")


@dataclass
class Report:
    comparison: Comparison
    files: list[Path]


def write_report(
    folders: Sequence[Path],
    out: Path | None = None,
    by: Sequence[str] = (),
    metric: str | None = None,
    baseline: str | None = None,
    mode: str | None = None,
    plot: bool = True,
    across: Sequence[str] = (),
) -> Report:
    """Compare the runs under ``folders``; write the files into ``out`` (default: the first)."""
    comparison = compare(folders, by=by, metric=metric, baseline=baseline, mode=mode, across=across)
    out = Path(out) if out is not None else Path(folders[0])
    try:
        out.mkdir(parents=True, exist_ok=True)
        md, table, png = (out / name for name in FILES)
        files = [md, table]
        if plot:
            from rnnlab.report.plot import plot as draw

            files.append(draw(comparison, png))
        write_csv(comparison, table)
        md.write_text(markdown(comparison, png if plot else None))
    except OSError as error:
        raise CompareError(
            f"Cannot write the comparison into {out} ({error.strerror or error}). Choose a "
            "writable folder with --out."
        ) from None
    return Report(comparison, files)
