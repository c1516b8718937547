"""The speed benchmark compares like with like, and ``make bench``'s runner answers ``--help``.

The comparison of rnnlab with a plain PyTorch loop only means something if both train the same
model on the same data: the plain loop's model has exactly the trainable parameters of the task
rnnlab-train builds from the same case's overrides (core, encoder, decoder, head), and the arrays
file rnnlab-train reads holds the very batches the plain loop trains on.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest
import torch
from hydra import compose, initialize_config_dir

from rnnlab.cli.assemble import build_datamodule
from rnnlab.config import CONFIG_DIR
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import bench_speed


@pytest.mark.parametrize("name", sorted(bench_speed.CASES))
def test_plain_loop_model_has_the_parameters_of_rnnlabs_model(name):
    case = bench_speed.CASES[name]
    rnnlab = bench_speed.parameter_count(bench_speed.rnnlab_task(case))
    plain = bench_speed.parameter_count(bench_speed.plain_model(case))
    assert plain == rnnlab


@pytest.mark.parametrize("name", sorted(bench_speed.CASES))
def test_plain_loop_batches_have_the_case_shapes(name):
    case = bench_speed.CASES[name]
    inputs, targets = bench_speed.plain_batches(case, count=1)[0]
    outputs = bench_speed.plain_model(case)(inputs)
    if case.task == "classify":
        assert outputs.shape == (case.batch, case.seq_len, bench_speed.CLASSES)
        assert targets.shape == (case.batch, case.seq_len)
    else:  # teacher forcing: every frame but the last in, every frame but the first out
        assert inputs.shape == (case.batch, case.seq_len - 1, 1, case.size, case.size)
        assert outputs.numel() == targets.numel()


def training_sequences(overrides: list[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
    """All training frames ``(N, T, 1, H, W)`` (and labels) of the data module ``overrides``
    configure, as its training loader serves them in its first epoch."""
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    datamodule = build_datamodule(cfg.data)
    datamodule.setup("fit")
    batches = list(datamodule.train_dataloader())
    labels = [b["labels"] for b in batches] if "labels" in batches[0] else None
    return torch.cat([b["frames"] for b in batches]), labels and torch.cat(labels)


@pytest.mark.parametrize("name", ["seed_rnn_classify", "lstm_next_frame", "conv_lstm_next_frame"])
def test_rnnlab_reads_the_batches_the_plain_loop_trains_on(name, tmp_path):
    case = dataclasses.replace(bench_speed.CASES[name], steps=2, warmup=1)
    overrides = bench_speed.arrays_overrides(case, bench_speed.write_arrays(case, tmp_path))
    frames, labels = training_sequences(overrides)
    plain = bench_speed.plain_batches(case)
    assert len(plain) == bench_speed.batch_count(case) == frames.shape[0] // case.batch
    if case.task == "classify":
        expected = torch.cat([inputs for inputs, _ in plain])
        expected_labels = torch.cat([targets for _, targets in plain])
    else:  # inputs are frames 0..T-2 and targets frames 1..T-1 of the same sequences
        expected = torch.cat([torch.cat([i[:, :1], t], 1) for i, t in plain])
        expected_labels = None
    # rnnlab shuffles the training sequences: compare them in the plain loop's order
    order = torch.argsort(frames.flatten(1)[:, 0])
    plain_order = torch.argsort(expected.flatten(1)[:, 0])
    assert torch.equal(frames.float()[order], expected[plain_order])
    if expected_labels is not None:
        assert torch.equal(labels[order], expected_labels[plain_order])
    else:
        assert labels is None


@pytest.mark.parametrize(
    ("script", "options"),
    [
        ("run.py", ("--quick", "--only")),
        ("bench_speed.py", ("--cases", "--threads", "--repeats", "--quick")),
    ],
)
def test_benchmark_help_lists_its_options(script, options):
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for option in options:
        assert option in done.stdout
