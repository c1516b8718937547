"""Data throughput of every data source at its default protocol, and how long a real training run
waits for data per step.

1. Batches/s of each source's training loader alone: the data module built from its config group
   (``data=<source>`` with its defaults), ``setup("fit")``, batches drawn from
   ``train_dataloader()`` after two warm-up batches. The file sources read tiny files written
   in a temporary folder: ``arrays`` a ``(256, 20, 64, 64)`` uint8 ``.npy``, ``frames_dir`` 64
   folders of 20 PNG frames of 64x64. ``moving_digits_seed`` is also measured: the seed systems'
   data (``experiment=seed_next_frame``: one digit on 28x28, 10 frames) at batch 64.
2. The wait in a real run: ``rnnlab-train data=<source>`` (the default LSTM next-frame task; the
   seed experiment's 2x128 LSTM for ``moving_digits_seed``), in this process, with
   :class:`step_clock.StepClock`: the median time from one training batch's end to the next one's
   start (Lightning fetching the batch, and its loop bookkeeping) as a share of the step, after
   warm-up batches.

Reproduce: ``.venv/bin/python benchmarks/bench_data.py [--sources moving_digits,arrays] [--quick]``
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench_speed import SMALL_DIGITS, output_to, run_rnnlab

HERE = Path(__file__).resolve().parent
# moving_digits_seed: the seed systems' data (one 20x20 digit on 28x28, 10 frames, batch 64
# as in bench_speed), trained with their model (2x128 LSTM, next frame 5 -> 5)
SOURCES = ("moving_digits", "moving_digits_seed", "digit_rows", "arrays", "frames_dir")


def write_files(root: Path) -> dict[str, list[str]]:
    """Tiny files for the file sources; the overrides that point each source at its files."""
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (256, 20, 64, 64), dtype=np.uint8)
    np.save(root / "frames.npy", frames)
    folder = root / "frames"
    for i, sequence in enumerate(frames[:64]):
        sub = folder / f"seq_{i:03d}"
        sub.mkdir(parents=True)
        for t, frame in enumerate(sequence):
            Image.fromarray(frame).save(sub / f"frame_{t:02d}.png")
    return {
        "moving_digits": [],
        "moving_digits_seed": ["experiment=seed_next_frame", *SMALL_DIGITS],
        "digit_rows": [],
        "arrays": [f"data.path={root / 'frames.npy'}"],
        "frames_dir": [f"data.path={folder}"],
    }


def batches_per_s(overrides: list[str], batches: int) -> tuple[float, int, float]:
    """Training batches per second of the data module ``data=...`` builds, its batch size, and
    the seconds from building it to its first batch (files read, digits loaded)."""
    from hydra import compose, initialize_config_dir

    from rnnlab.cli.assemble import build_datamodule
    from rnnlab.config import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    setup = time.perf_counter()
    datamodule = build_datamodule(cfg.data)
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()

    def endless():  # new epochs while the batches last
        while True:
            yield from loader

    stream = endless()
    next(stream)
    setup = time.perf_counter() - setup
    next(stream)  # warm-up
    start = time.perf_counter()
    for batch in itertools.islice(stream, batches):
        del batch
    return batches / (time.perf_counter() - start), int(cfg.data.batch_size), setup


def wait_in_run(overrides: list[str], workdir: Path, name: str, steps: int) -> tuple[float, float]:
    """Seconds per step of a real run on the source and the share of it between batches."""
    from step_clock import read_step_times

    warmup = 3
    clock = workdir / f"clock-{name}.json"
    run_rnnlab(
        [
            "rnnlab-train",
            *overrides,
            f"hydra.run.dir={workdir / f'run-{name}'}",
            f"++trainer.max_steps={warmup + steps + 1}",
            f"++trainer.limit_train_batches={warmup + steps + 2}",
            "++trainer.num_sanity_val_steps=0",
            "test=false",
            "+callbacks.step_clock._target_=step_clock.StepClock",
            f"+callbacks.step_clock.path={clock}",
        ],
        workdir / "train.log",
    )
    times = read_step_times(clock, warmup)
    return times.step_s, times.gap_fraction


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", default=",".join(SOURCES), help="comma-separated")
    parser.add_argument("--batches", type=int, default=30, help="batches timed per source")
    parser.add_argument("--steps", type=int, default=10, help="training steps timed per run")
    parser.add_argument("--quick", action="store_true", help="fewer batches and steps")
    args = parser.parse_args()
    sources = args.sources.split(",")
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        parser.error(f"unknown source(s) {', '.join(unknown)}; choose from {', '.join(SOURCES)}")
    batches, steps = (10, 4) if args.quick else (args.batches, args.steps)
    sys.path.insert(0, str(HERE))  # step_clock, for rnnlab-train's callbacks config
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(
        f"\n{'source':18s} {'batch':>5s} {'batches/s':>10s} {'seq/s':>8s} {'step ms':>8s} "
        f"{'data/step':>9s} {'gap/step':>9s} {'to 1st s':>8s}"
    )
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-data-") as tmp:
        workdir = Path(tmp)
        with output_to(workdir / "files.log"):
            extra = write_files(workdir)
        for source in sources:
            overrides = [f"data={source.removesuffix('_seed')}", *extra[source]]
            rate, batch, setup = batches_per_s(overrides, batches)
            step_s, gap = wait_in_run(overrides, workdir, source, steps)
            print(
                f"{source:18s} {batch:5d} {rate:10.1f} {rate * batch:8.0f} {1000 * step_s:8.1f} "
                f"{100 / (rate * step_s):8.1f}% {100 * gap:8.1f}% {setup:8.2f}",
                flush=True,
            )
    print(
        "\ndata/step: one batch's loading time (1 / batches/s) as a share of a real run's step; "
        "gap/step: the median time between one batch's end and the next one's start in the real "
        "run (data + Lightning's loop); to 1st s: from building the data module to its "
        "first batch (files read, digits loaded). Target: waiting for data < 5% of the step."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
