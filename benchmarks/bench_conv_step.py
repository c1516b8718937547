"""Training-step time of next-frame models (teacher forcing: forward, backward, Adam), plain torch.

Builds each model through rnnlab's task (the same SequenceModel the trainer runs) and times the
step outside Lightning, on random frames, after warm-up steps. Reproduce:

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_conv_step.py [--threads 1] [--steps 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from rnnlab.tasks import NextFramePredictor

ADAM = {"_target_": "torch.optim.Adam", "lr": 1e-3}
HEAD = {"_target_": "rnnlab.models.heads.MLPHead", "hidden_sizes": []}
CONV = "rnnlab.models.cells.ConvCore"
# name -> (model config, canvas size, batch size)
CASES: dict[str, tuple[dict, int, int]] = {
    "conv_lstm tiny (16x16, patch 2, [4], k3, batch 8)": (
        {
            "_target_": CONV,
            "cell": "lstm",
            "hidden_channels": [4],
            "kernel_size": 3,
            "patch_size": 2,
        },
        16,
        8,
    ),
    "conv_lstm 2x32 k5 patch 4 (64x64, batch 16)": (
        {
            "_target_": CONV,
            "cell": "lstm",
            "hidden_channels": [32, 32],
            "kernel_size": 5,
            "patch_size": 4,
        },
        64,
        16,
    ),
    "lstm 256 flatten (64x64, batch 16)": (
        {"_target_": "rnnlab.models.cells.DenseCore", "cell": "lstm", "hidden_size": 256},
        64,
        16,
    ),
}


def step_times(
    model: dict, canvas: int, batch: int, steps: int, warmup: int = 2
) -> tuple[list[float], list[float]]:
    """Wall-clock and process-CPU seconds of each timed step (CPU time shows the work when other
    processes share the cores)."""
    spec = {"channels": 1, "height": canvas, "width": canvas, "seq_len": 20}
    task = NextFramePredictor(model=model, optimizer=ADAM, data_spec=spec, head=HEAD)
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-3)
    frames = torch.rand(batch, 20, 1, canvas, canvas)
    wall, cpu = [], []
    for index in range(warmup + steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        raw, _ = task.model(frames[:, :-1])  # (B, 19, 1, H, W): teacher forcing
        loss = task.loss_fn(raw, frames[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index >= warmup:
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), 20-frame sequences (19 inputs)")
    for name, (model, canvas, batch) in CASES.items():
        wall, cpu = step_times(model, canvas, batch, args.steps)
        print(
            f"{name:52s} {1000 * statistics.median(wall):8.1f} ms/step wall, "
            f"{1000 * statistics.median(cpu):8.1f} ms CPU (medians of {len(wall)})"
        )


if __name__ == "__main__":
    main()
