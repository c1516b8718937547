"""Peak memory of runs over a large memory-mapped ``(T, N, H, W)`` file shaped like Moving MNIST's
``mnist_test_seq.npy`` (20 x 10000 x 64 x 64 uint8, 782 MiB).

    .venv/bin/python benchmarks/bench_mmap_rss.py [--sequences 10000] [--train-batches 20]

Writes a synthetic file of that shape (moving digits) into a temporary folder, then measures, each
in its own subprocess:

- ``train``: ``rnnlab-train data=arrays data.layout=TNHW`` on it with the default model and task
  (LSTM, next frame 10 -> 10): ``--train-batches`` training batches, then the whole validation and
  test splits (10% of the sequences each);
- ``baseline``: the same run on a 100-sequence file: what the process needs whatever the data;
- ``read all``: every sequence of the file read once through the data module's loaders (no model).

Memory is sampled every 20 ms from ``/proc/PID/status``: ``VmHWM``, the peak resident set (RSS),
and the peaks of its two parts, ``RssAnon``, the process's own memory (tensors, model, Python),
and ``RssFile``, pages of mapped files: the libraries, and the data file's pages that the process
has touched (page cache shared with the kernel, clean, dropped under memory pressure; the kernel
maps pages around each one read, so it grows faster than what is read). ``RssAnon`` is what a data
source must keep independent of the file size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

from rnnlab.data.readers.digits import digit_pools
from rnnlab.data.sources.moving_digits import generate_moving_digits

MIB = 1 << 20
READ_ALL = """
import sys
from rnnlab.data.sources.arrays import ArraysDataModule
module = ArraysDataModule(path=sys.argv[1], layout="TNHW", batch_size=64)
for split in ("train", "val", "test"):
    for batch in getattr(module, f"{split}_dataloader")():
        pass
"""


def write_moving_mnist_like(path: Path, sequences: int) -> None:
    """A ``(20, N, 64, 64)`` uint8 ``.npy`` of moving digits, written chunk by chunk."""
    torch.set_num_threads(1)  # small ops: threads only wait for each other
    pool = digit_pools("mnist5k", 28, 0.1, 0.1)["train"]
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(20, sequences, 64, 64))
    for start in range(0, sequences, 500):
        n = min(500, sequences - start)
        generator = torch.Generator().manual_seed(start)
        frames = generate_moving_digits(pool, n, 20, 64, 2, (3.6, 3.6), generator)["frames"]
        out[:, start : start + n] = frames[:, :, 0].numpy().transpose(1, 0, 2, 3)
    out.flush()
    del out


def memory_kib(pid: int) -> dict[str, int]:
    """``VmHWM``, ``RssAnon`` and ``RssFile`` of ``pid`` in KiB (empty once it has exited)."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmHWM", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return fields


def measure(command: list[str], cwd: Path) -> dict[str, float]:
    """Run ``command``; its wall time and peak memory (MiB): ``rss``, ``anon``, ``file``."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peaks = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            for name, value in memory_kib(process.pid).items():
                peaks[name] = max(peaks[name], value)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    _, status = os.waitpid(process.pid, 0)
    done.set()
    sampler.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return {
        "seconds": time.perf_counter() - start,
        "rss": peaks["VmHWM"] / 1024,
        "anon": peaks["RssAnon"] / 1024,
        "file": peaks["RssFile"] / 1024,
    }


def train_command(path: Path, run_dir: Path, train_batches: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rnnlab.train",
        "data=arrays",
        f"data.path={path}",
        "data.layout=TNHW",
        "trainer.max_epochs=1",
        f"++trainer.limit_train_batches={train_batches}",
        "~callbacks.progress_bar",
        "logger=csv",
        f"hydra.run.dir={run_dir}",
    ]


def report(name: str, figures: dict[str, float], file_mib: float) -> None:
    print(
        f"  {name:<9} peak RSS {figures['rss']:5.0f} MiB (RssAnon {figures['anon']:5.0f}, "
        f"RssFile {figures['file']:5.0f}) for a {file_mib:5.0f} MiB file, "
        f"{figures['seconds']:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sequences", type=int, default=10000, help="N of the (20, N, 64, 64) file"
    )
    parser.add_argument("--train-batches", type=int, default=20, help="training batches of 16")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-") as tmp:
        folder = Path(tmp)
        big, small = folder / "mnist_test_seq.npy", folder / "small.npy"
        started = time.perf_counter()
        write_moving_mnist_like(big, args.sequences)
        write_moving_mnist_like(small, 100)
        big_mib, small_mib = big.stat().st_size / MIB, small.stat().st_size / MIB
        print(f"wrote {big} ({big_mib:.0f} MiB) in {time.perf_counter() - started:.0f} s")
        print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        read_all = measure([sys.executable, "-c", READ_ALL, str(big)], folder)
        report("read all", read_all, big_mib)
        train = measure(train_command(big, folder / "run", args.train_batches), folder)
        report("train", train, big_mib)
        baseline = measure(train_command(small, folder / "run_small", args.train_batches), folder)
        report("baseline", baseline, small_mib)
        extra = train["rss"] - baseline["rss"]
        print(
            f"train over the {big_mib:.0f} MiB file: peak RSS {train['rss']:.0f} MiB, "
            f"{extra:+.0f} MiB over the same run on a {small_mib:.1f} MiB file; anonymous memory "
            f"{train['anon'] - baseline['anon']:+.0f} MiB"
        )


if __name__ == "__main__":
    main()
