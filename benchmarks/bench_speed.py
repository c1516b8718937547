"""Training speed three ways on the same model and shapes: rnnlab, a plain PyTorch loop, Keras.

(a) ``rnnlab``: the real entrypoint (``rnnlab.cli.train.main``, the ``rnnlab-train`` console
    script) called in this process with the case's Hydra overrides and the default trainer,
    logger and callbacks, plus :class:`step_clock.StepClock`, which records when every training
    batch starts. Samples/s come from the time between the starts of batch ``warmup`` and batch
    ``warmup + steps``: start-up (config, data, model, Trainer) and the warm-up batches cancel out.
    The data is the plain loop's batches, written to a ``.npy`` file (labels beside it) and read
    by rnnlab's real ``data=arrays`` source (memory-mapped): the figure includes what a real step
    pays (fetching the batch from the source, Lightning's loop, logging, metrics, callbacks) but
    not generating moving digits, so all ways pay the same near-zero data cost
    (``bench_data.py`` measures what generation costs).
(b) ``plain``: the loop one writes by hand in this file: the same core (torch's ``nn.RNN/GRU/LSTM``
    or a ConvLSTM of ``nn.Conv2d``), the same encoder/decoder/head parameters, Adam, the same
    gradient clipping (norm 1.0, rnnlab's trainer default), the same loss, on batches made once
    in memory (no data source): the ones (a) reads from its file.
(c) ``keras``: Keras 3 on TensorFlow (``pip install -e '.[bench]'``) with ``model.fit`` on
    in-memory arrays, in a worker process per thread count (TensorFlow fixes its threads when it
    starts); skipped with a message when TensorFlow is not installed.

The ways take turns (a, b, c, a, b, c, ...) so machine noise hits them alike; the figure of each
is the median over repeats. Reproduce (one torch thread per process elsewhere on the machine):

    .venv/bin/python benchmarks/bench_speed.py [--cases seed_rnn_classify,lstm_next_frame]
        [--threads 1,2] [--repeats 3] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
CLASSES = 10  # moving digits labelled by digit
CLIP_NORM = 1.0  # trainer.gradient_clip_val of trainer=cpu
RUN_NUMBERS = itertools.count()  # one run directory and clock file per rnnlab run


@dataclass(frozen=True)
class Case:
    """One model on one data shape, and how rnnlab-train is told to build it.

    ``cell``: rnn | gru | lstm (dense, frames flattened) or conv_lstm (4x4 patches);
    ``hidden``: the width of each layer; frames are ``(B, T, 1, size, size)``; ``next_frame``
    trains teacher-forced on ``T - 1`` inputs, ``classify`` predicts a class per frame.
    """

    name: str
    cell: str
    task: str
    hidden: tuple[int, ...]
    batch: int
    size: int
    seq_len: int
    overrides: tuple[str, ...]
    activation: str = "sigmoid"
    kernel: int = 5
    patch: int = 1
    steps: int = 20
    warmup: int = 4

    @property
    def dense(self) -> bool:
        return self.cell in ("rnn", "gru", "lstm")


# one-digit 28x28 moving digits, 10 frames (the seed systems' data), batch 64
SMALL_DIGITS = (
    "data=moving_digits",
    "data.num_digits=1",
    "data.canvas_size=28",
    "data.digit_size=20",
    "data.seq_len=10",
    "data.speed=[1.0,2.0]",
    "data.batch_size=64",
)
NEXT_FRAME_5_5 = ("task.context_frames=5", "task.predict_frames=5")


def _dense_case(cell: str, task: str) -> Case:
    overrides = (*SMALL_DIGITS, f"model={cell}", "model.hidden_size=128", f"task={task}")
    if task == "next_frame":
        overrides += NEXT_FRAME_5_5
    return Case(f"{cell}_{task}", cell, task, (128,), 64, 28, 10, overrides)


CASES: dict[str, Case] = {
    case.name: case
    for case in (
        Case(
            "seed_rnn_classify",
            "rnn",
            "classify",
            (50, 50),
            64,
            28,
            10,
            ("experiment=seed_frame_classifier", "data.batch_size=64"),
        ),
        Case(
            "seed_lstm_next_frame",
            "lstm",
            "next_frame",
            (128, 128),
            64,
            28,
            10,
            ("experiment=seed_next_frame", "data.batch_size=64"),
            activation="tanh",
        ),
        *(
            _dense_case(cell, task)
            for cell in ("rnn", "gru", "lstm")
            for task in ("classify", "next_frame")
        ),
        # experiment=moving_mnist_convlstm at batch 8 (16 there), teacher forcing throughout so
        # that all ways compute the same step (rnnlab keeps the experiment's cosine schedule: one
        # learning-rate update per step, nothing against a step of about a second)
        Case(
            "conv_lstm_next_frame",
            "conv_lstm",
            "next_frame",
            (32, 32),
            8,
            64,
            20,
            (
                "experiment=moving_mnist_convlstm",
                "data.batch_size=8",
                "task.scheduled_sampling.steps=0",
            ),
            kernel=5,
            patch=4,
            steps=4,
            warmup=2,
        ),
    )
}
QUICK_CASES = ("seed_rnn_classify", "seed_lstm_next_frame")


# ---------------------------------------------------------------- (b) the plain PyTorch loop


class PlainDense(nn.Module):
    """torch's fused RNN/GRU/LSTM over flattened frames ``(B, T, H*W)`` -> a linear layer per
    frame: class logits ``(B, T, 10)`` or the next frame ``(B, T, H*W)``."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        widths = set(case.hidden)
        assert len(widths) == 1, "torch's stacked RNN modules have one width"
        module = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[case.cell]
        pixels = case.size * case.size
        self.rnn = module(pixels, case.hidden[0], num_layers=len(case.hidden), batch_first=True)
        self.out = nn.Linear(case.hidden[0], CLASSES if case.task == "classify" else pixels)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(frames.flatten(2))
        return self.out(outputs)


class PlainConvLSTM(nn.Module):
    """ConvLSTM (Shi et al. 2015, no peepholes) on 4x4 patches: frames ``(B, T, 1, H, W)`` ->
    next frames' logits ``(B, T, 1, H, W)``; one convolution over ``[x, h]`` per layer and step,
    a 1x1 convolution reads the last layer out."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        self.patch = case.patch
        widths = [case.patch**2, *case.hidden]
        self.gates = nn.ModuleList(
            nn.Conv2d(i + h, 4 * h, case.kernel, padding=case.kernel // 2)
            for i, h in itertools.pairwise(widths)
        )
        self.readout = nn.Conv2d(case.hidden[-1], case.patch**2, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, t = frames.shape[:2]
        x = F.pixel_unshuffle(frames.flatten(0, 1), self.patch).unflatten(0, (b, t))
        states: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * len(self.gates)
        outputs = []
        for step in range(t):
            inp = x[:, step]
            for layer, conv in enumerate(self.gates):
                if states[layer] is None:
                    zeros = inp.new_zeros(b, conv.out_channels // 4, *inp.shape[-2:])
                    states[layer] = (zeros, zeros)
                h, c = states[layer]
                i, f, g, o = conv(torch.cat([inp, h], 1)).chunk(4, 1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                states[layer], inp = (h, c), h
            outputs.append(self.readout(inp))
        maps = torch.stack(outputs, 1).flatten(0, 1)
        return F.pixel_shuffle(maps, self.patch).unflatten(0, (b, t))


def plain_model(case: Case) -> nn.Module:
    """The plain loop's model for ``case``."""
    return PlainDense(case) if case.dense else PlainConvLSTM(case)


def batch_count(case: Case) -> int:
    """Batches a run of ``case`` trains on: warm-up, timed steps, the batch that ends the last
    timed step, and one spare (so that rnnlab's epoch does not end inside the run)."""
    return case.warmup + case.steps + 2


def plain_sequences(case: Case, count: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``count`` batches' worth of random sequences: frames float32 ``(count * B, T, 1, H, W)`` in
    [0, 1], and for ``classify`` random labels int64 ``(count * B, T)`` (else None)."""
    generator = torch.Generator().manual_seed(0)
    n = count * case.batch
    frames = torch.rand(n, case.seq_len, 1, case.size, case.size, generator=generator)
    if case.task != "classify":
        return frames, None
    return frames, torch.randint(0, CLASSES, (n, case.seq_len), generator=generator)


def plain_batches(case: Case, count: int | None = None) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``count`` (default :func:`batch_count`) (inputs, targets) batches of
    :func:`plain_sequences`, in order: frames and labels, or teacher forcing's frames ``0..T-2``
    and ``1..T-1``."""
    frames, labels = plain_sequences(case, count or batch_count(case))
    batches = []
    for start in range(0, frames.shape[0], case.batch):
        part = frames[start : start + case.batch]
        if labels is not None:
            batches.append((part, labels[start : start + case.batch]))
        else:
            batches.append((part[:, :-1], part[:, 1:]))
    return batches


def write_arrays(case: Case, folder: Path) -> list[str]:
    """Write the plain loop's sequences (:func:`plain_sequences`) for ``data=arrays``: frames
    ``(N, T, H, W)`` float32 to ``<case>-frames.npy``, labels ``(N, T)`` to
    ``<case>-labels.npy``, the first batch again as the val/test files; return the ``data``
    overrides that read them."""
    frames, labels = plain_sequences(case, batch_count(case))
    path = {
        part: folder / f"{case.name}-{part}.npy"
        for part in ("frames", "labels", "val-frames", "val-labels")
    }
    np.save(path["frames"], frames[:, :, 0].numpy())
    np.save(path["val-frames"], frames[: case.batch, :, 0].numpy())
    overrides = [
        "data=arrays",
        f"data.path={path['frames']}",
        "data.layout=NTHW",
        f"data.val_path={path['val-frames']}",
        f"data.test_path={path['val-frames']}",
        f"data.batch_size={case.batch}",
    ]
    if labels is not None:
        np.save(path["labels"], labels.numpy())
        np.save(path["val-labels"], labels[: case.batch].numpy())
        overrides += [
            f"data.labels={path['labels']}",
            f"data.val_labels={path['val-labels']}",
            f"data.test_labels={path['val-labels']}",
            f"data.num_classes={CLASSES}",
        ]
    return overrides


def plain_step_s(case: Case, threads: int) -> tuple[float, float]:
    """Wall and process CPU seconds per training step of the plain loop (after ``case.warmup``
    steps)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = plain_model(case)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    activate = torch.tanh if case.activation == "tanh" else torch.sigmoid
    batches = plain_batches(case)
    starts, cpu = [], []
    for step in range(case.warmup + case.steps + 1):
        starts.append(time.perf_counter())
        cpu.append(time.process_time())
        inputs, targets = batches[step % len(batches)]
        outputs = model(inputs)
        if case.task == "classify":
            loss = F.cross_entropy(outputs.reshape(-1, CLASSES), targets.reshape(-1))
        else:
            loss = F.mse_loss(activate(outputs), targets.flatten(2) if case.dense else targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimizer.step()
        if step % 10 == 0:
            loss.item()  # what a loop that prints its loss now and then reads
    wall_s = (starts[-1] - starts[case.warmup]) / case.steps
    return wall_s, (cpu[-1] - cpu[case.warmup]) / case.steps


# ---------------------------------------------------------------- (a) rnnlab's entrypoint


def arrays_overrides(case: Case, data: list[str]) -> list[str]:
    """``case``'s overrides with its data replaced by ``data`` (``data=arrays`` and its keys):
    the case's own ``data`` overrides dropped, and the data keys its experiment sets that the
    arrays source does not have deleted (``~data.KEY``)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from rnnlab.config import CONFIG_DIR

    kept = [o for o in case.overrides if not o.startswith("data")]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        composed = compose("train", overrides=[*kept, "data=arrays"])
    arrays_keys = set(OmegaConf.load(Path(CONFIG_DIR) / "data" / "arrays.yaml"))
    extra = [f"~data.{key}" for key in composed.data if key not in arrays_keys]
    return [*kept, *data, *extra]


def rnnlab_argv(
    case: Case, threads: int, run_dir: Path, clock: Path, overrides: list[str]
) -> list[str]:
    """``rnnlab-train`` arguments for ``case`` with ``overrides`` (:func:`arrays_overrides`): the
    step clock, ``batch_count - 1`` steps (inside one epoch), no test and no sanity validation
    (both outside the timed steps, left out to save time)."""
    return [
        "rnnlab-train",
        *overrides,
        f"threads={threads}",
        f"hydra.run.dir={run_dir}",
        f"++trainer.max_steps={batch_count(case) - 1}",
        "++trainer.num_sanity_val_steps=0",
        "test=false",
        "+callbacks.step_clock._target_=step_clock.StepClock",
        f"+callbacks.step_clock.path={clock}",
    ]


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2) to ``path``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_rnnlab(argv: list[str], log: Path) -> None:
    """Call the ``rnnlab-train`` console script in this process with ``argv``."""
    from rnnlab.cli.train import main

    saved_argv = sys.argv
    sys.argv = argv
    try:
        with output_to(log):
            main()
    except SystemExit as stop:
        if stop.code:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
            raise RuntimeError(f"{' '.join(argv)} exited {stop.code}:\n{tail}") from None
    finally:
        sys.argv = saved_argv


def rnnlab_step(
    case: Case, threads: int, workdir: Path, index: int, overrides: list[str]
) -> tuple[float, float, float]:
    """Wall seconds per step of a real rnnlab-train run of ``case`` with ``overrides``, its
    between-batch gap's share, and the process's CPU seconds per step."""
    from step_clock import read_step_times

    clock = workdir / f"clock-{index}.json"
    argv = rnnlab_argv(case, threads, workdir / f"run-{index}", clock, overrides)
    run_rnnlab(argv, workdir / "train.log")
    times = read_step_times(clock, case.warmup)
    return times.step_s, times.gap_fraction, times.cpu_step_s


def rnnlab_task(case: Case) -> nn.Module:
    """The task module rnnlab-train builds for ``case`` (composed from the same overrides)."""
    from hydra import compose, initialize_config_dir

    from rnnlab.cli.assemble import build_task
    from rnnlab.config import CONFIG_DIR
    from rnnlab.data.spec import DataSpec

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=list(case.overrides))
    labelled = case.task == "classify"
    spec = DataSpec(
        channels=1,
        height=case.size,
        width=case.size,
        seq_len=case.seq_len,
        num_classes=CLASSES if labelled else None,
        label_level="per_frame" if labelled else None,
    )
    return build_task(cfg, spec)


def parameter_count(module: Any) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ---------------------------------------------------------------- (c) Keras, in a worker


def keras_available() -> bool:
    return all(importlib.util.find_spec(name) for name in ("tensorflow", "keras"))


@dataclass
class KerasWorker:
    """A process running ``keras_worker.py`` with TensorFlow fixed to ``threads`` threads."""

    threads: int
    log: Path
    process: subprocess.Popen = field(init=False)

    def __post_init__(self) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}
        env["OMP_NUM_THREADS"] = str(self.threads)
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "keras_worker.py"), str(self.threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("ab"),
            text=True,
            env=env,
        )

    def step(self, case: Case) -> tuple[float, float, int]:
        """Wall and CPU seconds per step of Keras's ``fit`` on ``case``, and the Keras model's
        trainable parameters."""
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(asdict(case)) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the Keras worker stopped; see {self.log}")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"Keras worker: {reply['error']}")
        return reply["step_s"], reply["cpu_step_s"], reply["params"]

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)


# ---------------------------------------------------------------- the table


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {cores} cores, torch {torch.__version__}, load average {load}"


def version(*distributions: str) -> str:
    """The installed version of the first of ``distributions`` that is installed."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    for name in distributions:
        with contextlib.suppress(PackageNotFoundError):
            return installed(name)
    return "?"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def rate(value: float | None) -> str:
    if not value:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cases", default="all", help=f"comma-separated, or all: {', '.join(CASES)}"
    )
    parser.add_argument("--threads", default="1,2", help="torch/TF thread counts, e.g. 1,2")
    parser.add_argument("--repeats", type=int, default=3, help="turns of each way (median)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a dev check: {', '.join(QUICK_CASES)}, 1 thread, 1 repeat, fewer steps",
    )
    args = parser.parse_args()
    names = list(CASES) if args.cases == "all" else args.cases.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    repeats = args.repeats
    if args.quick:
        names = list(QUICK_CASES) if args.cases == "all" else names
        threads, repeats = [1], 1
    unknown = [name for name in names if name not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    cases = [CASES[name] for name in names]
    if args.quick:
        cases = [
            Case(**{**asdict(c), "steps": max(2, c.steps // 3), "warmup": min(c.warmup, 3)})
            for c in cases
        ]
    sys.path.insert(0, str(HERE))  # step_clock, for rnnlab-train's callbacks config
    print(f"machine: {machine()}")
    keras = keras_available()
    if keras:
        print(f"keras {version('keras')} on tensorflow {version('tensorflow-cpu', 'tensorflow')}")
    else:
        print("keras: skipped (TensorFlow not installed: pip install -e '.[bench]')")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rnnlab-bench-speed-") as tmp:
        workdir = Path(tmp)
        for n in threads:
            worker = KerasWorker(n, workdir / "keras.log") if keras else None
            try:
                for case in cases:
                    rows.append(measure(case, n, repeats, workdir, worker))
                    print_row(rows[-1], header=len(rows) == 1)
            finally:
                if worker:
                    worker.close()
    print(f"\nmachine at the end: {machine()}")
    print(
        "samples/s: medians over repeats of (steps x batch) / time between the starts of the "
        "first and last timed batches, warm-up excluded; gap: rnnlab's median time from one "
        "batch's end to the next one's start (fetching the batch from the arrays file + loop "
        "bookkeeping) as a share of its step; "
        "-gap/pl: rnnlab without that gap over plain (what the step itself costs); cpu rl/pl, "
        "cpu rl/k: the ratios by process CPU time per step instead of wall time (steadier on a "
        "loaded machine; with 2 threads it counts both). "
        "Targets: rnnlab/plain >= 0.95 every case; rnnlab/keras >= 1.0 seed and dense cases."
    )
    return 0


def measure(case: Case, threads: int, repeats: int, workdir: Path, worker: Any) -> dict:
    """Samples/s of each way on ``case`` (by wall and by CPU time), taking turns ``repeats``
    times; medians."""
    steps: dict[str, list[float]] = {"rnnlab": [], "plain": [], "keras": []}
    cpu: dict[str, list[float]] = {"rnnlab": [], "plain": [], "keras": []}
    gaps, compute, keras_params = [], [], None
    folder = workdir / f"arrays-{case.name}-{threads}"
    folder.mkdir(exist_ok=True)
    overrides = arrays_overrides(case, write_arrays(case, folder))
    for _ in range(repeats):
        step_s, gap, cpu_s = rnnlab_step(case, threads, workdir, next(RUN_NUMBERS), overrides)
        steps["rnnlab"].append(step_s)
        cpu["rnnlab"].append(cpu_s)
        gaps.append(gap)
        compute.append(step_s * (1 - gap))
        step_s, cpu_s = plain_step_s(case, threads)
        steps["plain"].append(step_s)
        cpu["plain"].append(cpu_s)
        if worker and case.dense:
            step_s, cpu_s, keras_params = worker.step(case)
            steps["keras"].append(step_s)
            cpu["keras"].append(cpu_s)

    def per_s(times: list[float]) -> float | None:
        return case.batch / statistics.median(times) if times else None

    return {
        "case": case,
        "threads": threads,
        "rates": {way: per_s(times) for way, times in steps.items()},
        "cpu_rates": {way: per_s(times) for way, times in cpu.items()},
        "gap": statistics.median(gaps),
        "rnnlab_no_gap": per_s(compute),
        "params": parameter_count(plain_model(case)),
        "keras_params": keras_params,
        "repeats": repeats,
    }


def print_row(row: dict, header: bool) -> None:
    if header:
        print(
            f"\n{'case':22s} {'thr':>3s} {'params':>8s} {'rnnlab':>8s} {'plain':>8s} "
            f"{'keras':>8s} {'rl/plain':>8s} {'rl/keras':>8s} {'gap':>5s} {'-gap/pl':>7s} "
            f"{'cpu rl/pl':>9s} {'cpu rl/k':>8s}"
        )
    rates, cpu, case = row["rates"], row["cpu_rates"], row["case"]
    keras_note = ""
    if row["keras_params"] and row["keras_params"] != row["params"]:
        keras_note = f"  keras params {row['keras_params']:,}"
    print(
        f"{case.name:22s} {row['threads']:3d} {row['params']:8,d} {rate(rates['rnnlab']):>8s} "
        f"{rate(rates['plain']):>8s} {rate(rates['keras']):>8s} "
        f"{ratio(rates['rnnlab'], rates['plain']):>8s} "
        f"{ratio(rates['rnnlab'], rates['keras']):>8s} {100 * row['gap']:4.1f}% "
        f"{ratio(row['rnnlab_no_gap'], rates['plain']):>7s} "
        f"{ratio(cpu['rnnlab'], cpu['plain']):>9s} {ratio(cpu['rnnlab'], cpu['keras']):>8s}"
        f"{keras_note}",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
