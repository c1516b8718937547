"""Training-step time of next-frame models (teacher forcing: forward, backward, Adam), plain torch.

Builds each model through rnnlab's task (the same SequenceModel the trainer runs) and times the
step outside Lightning, on random frames, after warm-up steps, in each mode: ``32`` (float32),
``bf16-mixed`` (CPU autocast to bfloat16, as ``trainer.precision=bf16-mixed`` runs a step),
``compile`` (``model.compile=true``: torch.compile, float32; its first step, which compiles, is
printed apart). Reproduce:

    .venv/bin/python benchmarks/bench_conv_step.py [--threads 2] [--steps 5] \
        [--modes 32,bf16-mixed,compile]
"""

from __future__ import annotations

import argparse
import contextlib
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
    model: dict, canvas: int, batch: int, steps: int, mode: str = "32", warmup: int = 2
) -> tuple[list[float], list[float], float]:
    """Wall-clock and process-CPU seconds of each timed step (CPU time shows the work when other
    processes share the cores), and the first step's wall time (with ``compile``: compiling)."""
    spec = {"channels": 1, "height": canvas, "width": canvas, "seq_len": 20}
    model = {**model, "compile": mode == "compile"}
    task = NextFramePredictor(model=model, optimizer=ADAM, data_spec=spec, head=HEAD)
    task.configure_model()  # compiles with model.compile=true, as Lightning's hook does
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-3)
    frames = torch.rand(batch, 20, 1, canvas, canvas)
    autocast = (
        torch.autocast("cpu", dtype=torch.bfloat16)
        if mode == "bf16-mixed"
        else contextlib.nullcontext()
    )
    wall, cpu, first = [], [], 0.0
    for index in range(warmup + steps):
        start, start_cpu = time.perf_counter(), time.process_time()
        with autocast:
            raw, _ = task.model(frames[:, :-1])  # (B, 19, 1, H, W): teacher forcing
            loss = task.loss_fn(raw, frames[:, 1:])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if index == 0:
            first = time.perf_counter() - start
        if index >= warmup:
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    return wall, cpu, first


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--modes", default="32,bf16-mixed", help="32, bf16-mixed, compile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s), 20-frame sequences (19 inputs)")
    for name, (model, canvas, batch) in CASES.items():
        for mode in args.modes.split(","):
            wall, cpu, first = step_times(model, canvas, batch, args.steps, mode)
            compiling = f", first step {first:.1f} s" if mode == "compile" else ""
            print(
                f"{name:52s} {mode:10s} {1000 * statistics.median(wall):8.1f} ms/step wall, "
                f"{1000 * statistics.median(cpu):8.1f} ms CPU (medians of {len(wall)}){compiling}"
            )


if __name__ == "__main__":
    main()
