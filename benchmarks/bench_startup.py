"""Start-up of ``rnnlab-train`` in a cold process: the time to its first training step with the
default config (imports, config, data, model, Trainer, Lightning's sanity validation), and the
wall time of ``rnnlab-train --help``. Medians of a few runs, each a new process.

The first step is timed by :class:`step_clock.StepClock` (added with ``+callbacks.step_clock``),
whose ``time.time()`` stamps are compared with the moment this script started the process.
Reproduce:

    .venv/bin/python benchmarks/bench_startup.py [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENTRYPOINT = str(Path(sys.executable).with_name("rnnlab-train"))


def child_cpu_s() -> float:
    """CPU seconds (user + system) of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def first_step(workdir: Path, index: int) -> tuple[float, float, float, float]:
    """Seconds from starting ``rnnlab-train`` (default config, one training step, no test) to
    the start and to the end of its first training batch, and to the process's exit; and the
    CPU seconds the process used (on a loaded machine, wall time runs ahead of it)."""
    clock = workdir / f"clock-{index}.json"
    argv = [
        ENTRYPOINT,
        f"hydra.run.dir={workdir / f'run-{index}'}",
        "++trainer.max_steps=1",
        "test=false",
        "+callbacks.step_clock._target_=step_clock.StepClock",
        f"+callbacks.step_clock.path={clock}",
    ]
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))
    cpu, start = child_cpu_s(), time.time()
    done = subprocess.run(
        argv, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True, check=False
    )
    end = time.time()
    if done.returncode:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    record = json.loads(clock.read_text())
    first_start, first_end = record["starts"][0] - start, record["ends"][0] - start
    return first_start, first_end, end - start, child_cpu_s() - cpu


def help_time() -> tuple[float, float]:
    """Wall and CPU seconds of ``rnnlab-train --help``."""
    cpu, start = child_cpu_s(), time.perf_counter()
    subprocess.run([ENTRYPOINT, "--help"], capture_output=True, check=True)
    return time.perf_counter() - start, child_cpu_s() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="cold processes of each (median)")
    parser.add_argument("--quick", action="store_true", help="one of each")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    threads = os.environ.get("OMP_NUM_THREADS", "torch's default")
    print(f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}; threads: {threads}")
    starts, ends, exits, cpus, helps, help_cpus = [], [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-startup-") as tmp:
        for index in range(repeats):  # taking turns, so noise hits both alike
            wall, cpu = help_time()
            helps.append(wall)
            help_cpus.append(cpu)
            start, end, exit_, cpu = first_step(Path(tmp), index)
            starts.append(start)
            ends.append(end)
            exits.append(exit_)
            cpus.append(cpu)

    def show(values: list[float]) -> str:
        spread = f" (runs: {', '.join(f'{v:.2f}' for v in values)})" if len(values) > 1 else ""
        return f"{statistics.median(values):6.2f} s{spread}"

    print(f"rnnlab-train --help:                       {show(helps)}   target <= 2 s")
    print(f"default run, to the first step's start:    {show(starts)}")
    print(f"default run, to the first step's end:      {show(ends)}   target <= 5 s")
    print(f"default run of one step, to process exit:  {show(exits)}   (no test)")
    print(f"CPU time of --help:                        {show(help_cpus)}")
    print(f"CPU time of the one-step run:              {show(cpus)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
