"""The speed benchmark compares like with like, and ``make bench``'s runner answers ``--help``.

The comparison of rnnlab with a plain PyTorch loop only means something if both train the same
model: the plain loop's model has exactly the trainable parameters of the task rnnlab-train builds
from the same case's overrides (core, encoder, decoder, head).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

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


def test_bench_runner_help_lists_its_options():
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "--quick" in done.stdout
    assert "--only" in done.stdout


def test_speed_benchmark_help_lists_its_options():
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_speed.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for option in ("--cases", "--threads", "--repeats", "--quick"):
        assert option in done.stdout
