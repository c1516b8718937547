"""Moving-digits generation throughput: sequences/s at the standard protocol (64x64, 20 frames,
2 digits of 28x28), per batch size, on this machine's CPU threads.

    .venv/bin/python benchmarks/bench_moving_digits.py [--seconds 3]

Generation is what a training epoch waits for (train sequences are generated on the fly, batch by
batch); compare the figures with the training throughput (samples/s) a run reports in run.json.
Measured with torch's default number of threads and with one thread: on a machine whose cores are
busy with other work, intra-op threads of these small ops mostly wait for each other (the load
average is printed so that figures can be read against it).
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from rnnlab.data.readers.digits import digit_pools
from rnnlab.data.sources.moving_digits import generate_moving_digits

BATCH_SIZES = (16, 64, 256)


def throughput(batch_size: int, seconds: float, bounce: bool = True) -> float:
    """Sequences generated per second, generating batches of ``batch_size`` for ~``seconds``."""
    pool = digit_pools("mnist5k", 28, 0.1, 0.1)["train"]

    def batch(seed: int) -> torch.Tensor:
        generator = torch.Generator().manual_seed(seed)
        out = generate_moving_digits(pool, batch_size, 20, 64, 2, (3.6, 3.6), generator, bounce)
        return out["frames"]

    batch(0)  # warm-up
    done, start, seed = 0, time.perf_counter(), 1
    while (elapsed := time.perf_counter() - start) < seconds:
        done += batch(seed).shape[0]
        seed += 1
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()
    print("moving digits, 64x64, 20 frames, 2 digits of 28x28 (mnist5k)")
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    for threads in sorted({torch.get_num_threads(), 1}, reverse=True):
        torch.set_num_threads(threads)
        print(f"torch threads: {threads}")
        for batch_size in BATCH_SIZES:
            rate = throughput(batch_size, args.seconds)
            print(f"  batch {batch_size:4d}: {rate:8.0f} sequences/s ({rate * 20:9.0f} frames/s)")
        rate = throughput(64, args.seconds, bounce=False)
        print(f"  batch   64, bounce=false: {rate:8.0f} sequences/s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
