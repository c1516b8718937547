"""``make bench``: run every ``benchmarks/bench_*.py`` in its own process and print its figures.

Each benchmark prints its own figures (with the command that reproduces them); this runner only
runs them one after another so their timings do not disturb each other. ``--quick`` runs the
speed, start-up and data benchmarks in their quick form (about 2 minutes in all); ``--only``
picks benchmarks by name. ``make bench BENCH_ARGS=--quick`` passes the options.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# the benchmarks that take --quick (a dev check of about a minute or less each)
QUICK = ("bench_speed.py", "bench_startup.py", "bench_data.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"only {', '.join(QUICK)}, each with --quick"
    )
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated names (bench_speed or speed), e.g. --only speed,startup",
    )
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.quick:
        scripts = [script for script in scripts if script.name in QUICK]
    if args.only:
        wanted = {name.removeprefix("bench_").removesuffix(".py") for name in args.only.split(",")}
        unknown = wanted - {script.stem.removeprefix("bench_") for script in scripts}
        if unknown:
            parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
        scripts = [script for script in scripts if script.stem.removeprefix("bench_") in wanted]
    failed = []
    start = time.perf_counter()
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        extra = ["--quick"] if args.quick else []
        if subprocess.run([sys.executable, str(script), *extra], check=False).returncode:
            failed.append(script.name)
    print(f"\nmake bench: {time.perf_counter() - start:.0f} s in all")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
