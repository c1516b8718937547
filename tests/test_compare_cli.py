"""rnnlab-compare through its console script: synthetic run.json trees (fast), bad input (exit 2,
one paragraph, no traceback), and one real tiny sweep that ends with the comparison files."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TINY, run_cli, run_script


def write_run(
    folder: Path,
    model: str = "gru",
    seed: int = 1,
    metrics: dict[str, float] | None = None,
    status: str = "completed",
    overrides: dict[str, Any] | None = None,
    task: str = "classify",
    extra: dict[str, Any] | None = None,
) -> Path:
    """A run.json as rnnlab-train writes it (the fields rnnlab-compare reads)."""
    overrides = overrides or {}
    config: dict[str, Any] = {
        "seed": seed,
        "monitor": {"metric": "val/loss", "mode": "min"},
        "model": {"cell": model, "hidden_size": 16},
        "optimizer": {"lr": 0.001},
        "data": {"seed": seed, "train_size": 64},
    }
    for key, value in overrides.items():
        group, _, name = key.partition(".")
        config[group][name] = value
    record = {
        "schema_version": 1,
        "status": status,
        "failure": "TrainingError: loss is nan" if status == "failed" else None,
        "choices": {"model": model, "task": task, "data": "moving_digits", "hydra/env": "default"},
        "overrides": [
            f"model={model}",
            f"seed={seed}",
            f"task={task}",
            *(f"{k}={v}" for k, v in overrides.items()),
            "data.train_size=64",
            f"hydra.run.dir={folder}",
        ],
        "config": config,
        "run_dir": str(folder),
        "wall_time_s": 2.0,
        "parameters": {"rnn": 100, "gru": 300, "lstm": 400}.get(model, 50),
        "throughput": {"train_samples_per_s": 1000.0},
        "tensorboard_dir": "/elsewhere/tensorboard",
    }
    if status == "completed":
        record["metrics"] = {
            "final": metrics or {},
            "best": {"metric": "val/loss", "mode": "min", "value": 1.0},
        }
    record.update(extra or {})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(record))
    return folder


ACC = {"rnn": [0.5, 0.6, 0.7], "gru": [0.8, 0.85, 0.9]}


def cell_sweep(root: Path, acc: dict[str, list[float]] = ACC) -> Path:
    """Sweep: one model per group, seeds 1..3, test/acc and test/loss per run."""
    sweep = root / "sweep"
    job = 0
    for model, values in acc.items():
        for seed, value in enumerate(values, start=1):
            metrics = {"test/acc": value, "test/loss": 2 - value, "val/loss": 2.1 - value}
            write_run(sweep / str(job), model, seed, metrics)
            job += 1
    return sweep


def compare(args: list[str], cwd: Path):
    return run_script("rnnlab-compare", [str(a) for a in args], cwd, timeout=120)


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open() as file:
        return {row["group"]: row for row in csv.DictReader(file)}


def assert_one_paragraph(result, *phrases: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    message = result.stderr.strip()
    assert message.startswith("rnnlab: CompareError:"), message
    assert "\n" not in message, message
    for phrase in phrases:
        assert phrase in message, message


# ------------------------------------------------------------------ what it writes and says


def test_compares_two_cells_with_a_paired_test(tmp_path):
    sweep = cell_sweep(tmp_path)
    result = compare([sweep, "--metric", "test/acc"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_rows(sweep / "comparison.csv")
    assert set(rows) == {"rnn", "gru"}
    gru, rnn = rows["gru"], rows["rnn"]
    assert gru["reference"] == "gru" and gru["direction"] == "max"  # acc: higher is better
    assert float(rnn["test/acc mean"]) == pytest.approx(0.6)
    assert float(rnn["test/acc std"]) == pytest.approx(0.1)
    half = 4.302653 * 0.1 / math.sqrt(3)  # t_{0.975, 2} * s / sqrt(n)
    assert float(rnn["test/acc ci_low"]) == pytest.approx(0.6 - half, abs=1e-5)
    assert float(rnn["test/acc ci_high"]) == pytest.approx(0.6 + half, abs=1e-5)
    # seeds 1, 2, 3 in both: paired; d = rnn - gru = [-0.3, -0.25, -0.2], mean -0.25, s_d = 0.05
    t = 0.25 / (0.05 / math.sqrt(3))
    assert rnn["test"] == "paired t"
    assert float(rnn["diff"]) == pytest.approx(-0.25)
    assert float(rnn["p"]) == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-9)  # df = 2
    assert float(rnn["p_holm"]) == pytest.approx(float(rnn["p"]))  # one comparison
    assert float(rnn["prob_better"]) == 0.0  # no rnn run beats any gru run
    assert rnn["n_completed"] == "3" and rnn["parameters"] == "100.0"
    assert (sweep / "comparison.png").stat().st_size > 10_000
    md = (sweep / "comparison.md").read_text()
    assert "gru is best" in md and "It is better than rnn (difference -0.250" in md
    assert "| rnn | 3 | 0.600 ± 0.100 | [0.352, 0.848] |" in md  # 0.6 ± 4.303 * 0.1 / sqrt(3)
    # the terminal gets the same table and verdict
    assert "gru is best" in result.stdout and "paired t" in result.stdout
    assert f"wrote {sweep / 'comparison.md'}" in result.stdout


def test_default_metric_is_the_monitored_one_on_the_test_split(tmp_path):
    sweep = cell_sweep(tmp_path)
    result = compare([sweep, "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_rows(sweep / "comparison.csv")
    assert rows["gru"]["metric"] == "test/loss" and rows["gru"]["direction"] == "min"
    assert not (sweep / "comparison.png").exists()
    assert "On test/loss (lower is better), gru is best" in result.stdout


def test_unseparated_groups_and_welch_when_seeds_differ(tmp_path):
    sweep = tmp_path / "sweep"
    for i, (model, seed, acc) in enumerate(
        [("rnn", 1, 0.5), ("rnn", 2, 0.7), ("gru", 3, 0.55), ("gru", 4, 0.75)]
    ):
        write_run(sweep / str(i), model, seed, {"test/acc": acc})
    result = compare([sweep, "--metric", "test/acc", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    rnn = read_rows(sweep / "comparison.csv")["rnn"]
    # Welch: both variances 0.02, se = sqrt(0.01 + 0.01), t = -0.05 / 0.1414, df = 2
    t = 0.05 / math.sqrt(0.02)
    assert rnn["test"] == "Welch"
    assert float(rnn["p"]) == pytest.approx(1 - t / math.sqrt(2 + t * t), abs=1e-9)
    assert float(rnn["prob_better"]) == pytest.approx(1 / 4)  # 0.7 > 0.55 only
    assert "not separated from rnn" in result.stdout


def test_partly_failed_running_and_pruned_sweep(tmp_path):
    sweep = cell_sweep(tmp_path)
    write_run(sweep / "6", "gru", 4, status="failed")
    write_run(sweep / "7", "rnn", 4, status="running")
    write_run(sweep / "8", "rnn", 5, status="pruned")
    (sweep / "9").mkdir()  # a job that never wrote its run.json
    result = compare([sweep, "--metric", "test/acc", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_rows(sweep / "comparison.csv")
    assert (rows["gru"]["n_completed"], rows["gru"]["n_failed"]) == ("3", "1")
    assert (rows["rnn"]["n_running"], rows["rnn"]["n_pruned"]) == ("1", "1")
    assert float(rows["rnn"]["test/acc mean"]) == pytest.approx(0.6)  # completed runs only
    md = (sweep / "comparison.md").read_text()
    assert "10 runs" not in md and "9 runs: 6 completed, 1 failed, 1 pruned, 1 running" in md
    assert "3 completed, 1 failed" in md and "loss is nan" in md


def test_group_by_two_keys_or_by_one(tmp_path):
    sweep = tmp_path / "sweep"
    job = 0
    for model in ("rnn", "gru"):
        for lr in (0.01, 0.001):
            for seed in (1, 2):
                acc = (0.5 if model == "rnn" else 0.7) + (0.1 if lr == 0.01 else 0) + seed / 100
                write_run(
                    sweep / str(job), model, seed, {"test/acc": acc}, overrides={"optimizer.lr": lr}
                )
                job += 1
    result = compare([sweep, "--metric", "test/acc", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(read_rows(sweep / "comparison.csv")) == {
        "model=rnn, optimizer.lr=0.01",
        "model=rnn, optimizer.lr=0.001",
        "model=gru, optimizer.lr=0.01",
        "model=gru, optimizer.lr=0.001",
    }
    assert "model=gru, optimizer.lr=0.01 is best" in result.stdout
    # --by model pools the learning rates (seeds repeat within a group: Welch's test)
    result = compare([sweep, "--metric", "test/acc", "--by", "model", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_rows(sweep / "comparison.csv")
    assert set(rows) == {"rnn", "gru"} and rows["rnn"]["n_completed"] == "4"
    assert rows["rnn"]["test"] == "Welch"
    assert float(rows["rnn"]["test/acc mean"]) == pytest.approx(0.565)  # 0.5 + (0.1 + 0.03) / 2
    assert "pooled: optimizer.lr" in result.stdout
    # --across lr (short for optimizer.lr): each learning rate is a study of its own
    result = compare(
        [sweep, "--metric", "test/acc", "--by", "model", "--across", "lr", "--no-plot"], tmp_path
    )
    assert result.returncode == 0, result.stderr
    with (sweep / "comparison.csv").open() as file:
        studies = {(r["study"], r["group"]) for r in csv.DictReader(file)}
    assert studies == {
        (f"optimizer.lr={lr}", m) for lr in ("0.01", "0.001") for m in ("rnn", "gru")
    }
    assert "studies by optimizer.lr" in result.stdout


def test_baseline_and_holm_over_several_comparisons(tmp_path):
    acc = {"rnn": [0.5, 0.52, 0.54], "gru": [0.8, 0.82, 0.81], "lstm": [0.51, 0.53, 0.56]}
    sweep = cell_sweep(tmp_path, acc)
    result = compare([sweep, "--metric", "test/acc", "--baseline", "rnn", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_rows(sweep / "comparison.csv")
    assert rows["gru"]["reference"] == "rnn"
    p = sorted(float(rows[m]["p"]) for m in ("gru", "lstm"))
    holm = sorted(float(rows[m]["p_holm"]) for m in ("gru", "lstm"))
    assert holm == pytest.approx([2 * p[0], max(2 * p[0], p[1])])
    assert "rnn is the baseline" in result.stdout
    # model=rnn works as well as rnn
    again = compare(
        [sweep, "--metric", "test/acc", "--baseline", "model=rnn", "--no-plot"], tmp_path
    )
    assert again.returncode == 0 and "rnn is the baseline" in again.stdout


def test_ranks_three_cells_over_several_studies(tmp_path):
    sweep = tmp_path / "sweep"
    job = 0
    for lr, shift in ((0.1, 0.0), (0.01, 0.05), (0.001, 0.1)):
        for model, base in (("rnn", 0.5), ("gru", 0.7), ("lstm", 0.65)):
            for seed in (1, 2):
                metrics = {"test/acc": base + shift + seed / 100}
                write_run(
                    sweep / str(job),
                    model,
                    seed,
                    metrics,
                    overrides={"optimizer.lr": lr},
                    extra={"metrics": {"final": metrics, "per_horizon": {"test/mse": [1, 2, 3]}}},
                )
                job += 1
    result = compare([sweep, "--by", "model", "--across", "lr", "--metric", "test/acc"], tmp_path)
    assert result.returncode == 0, result.stderr
    md = (sweep / "comparison.md").read_text()
    # gru first, lstm second, rnn third in each of the 3 studies
    assert "Average ranks over 3 studies (1 = best): gru 1.00, lstm 2.00, rnn 3.00" in md
    assert "Nemenyi critical difference 1.91" in md  # 2.343 * sqrt(3 * 4 / (6 * 3))
    assert (sweep / "comparison.png").is_file()


def test_several_sweeps_and_an_output_folder(tmp_path):
    first = tmp_path / "a"
    second = tmp_path / "b"
    for seed, acc in ((1, 0.5), (2, 0.6)):
        write_run(first / str(seed), "rnn", seed, {"test/acc": acc})
        write_run(second / str(seed), "gru", seed, {"test/acc": acc + 0.2})
    out = tmp_path / "report"
    result = compare([first, second, "--metric", "test/acc", "--out", out, "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(read_rows(out / "comparison.csv")) == {"rnn", "gru"}
    assert not (first / "comparison.md").exists()


def test_learning_curves_from_tensorboard_events(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    sweep = cell_sweep(tmp_path)
    for job in range(6):
        # as rnnlab-train names them: a folder per run under tensorboard/ (run.json's path is
        # from another machine here: found beside run.json)
        writer = SummaryWriter(str(sweep / str(job) / "tensorboard" / f"job={job}"))
        for step in range(5):
            writer.add_scalar("val/loss", 2.0 - step * 0.1 - job * 0.01, step)
        writer.close()
    from rnnlab.report.curves import mean_band, scalar_curve
    from rnnlab.report.runs import find_runs

    runs = find_runs([sweep])
    curves = [scalar_curve(run, "val/loss") for run in runs[:3]]
    steps, mean, std = mean_band(curves)
    assert list(steps) == [0, 1, 2, 3, 4]
    assert mean[0] == pytest.approx(2.0 - 0.01)  # jobs 0, 1, 2 at step 0: 2.0, 1.99, 1.98
    assert std[0] == pytest.approx(0.01, abs=1e-6)
    result = compare([sweep], tmp_path)
    assert result.returncode == 0, result.stderr


def test_help_is_fast_and_the_report_never_imports_torch(tmp_path):
    start = time.perf_counter()
    assert compare(["--help"], tmp_path).returncode == 0
    assert time.perf_counter() - start < 5
    sweep = cell_sweep(tmp_path)
    code = (
        "import sys; from rnnlab.report.write import write_report; "
        f"write_report([{str(sweep)!r}]); "
        "from rnnlab.report import hydra_callback; "
        "print('torch' in sys.modules, 'lightning' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "False False", out.stderr


# ------------------------------------------------------------------ bad input


def test_no_run_json(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_paragraph(compare([tmp_path / "empty"], tmp_path), "No run.json under")
    assert_one_paragraph(compare([tmp_path / "missing"], tmp_path), "is not a directory")


def test_a_metric_no_run_has(tmp_path):
    sweep = cell_sweep(tmp_path)
    result = compare([sweep, "--metric", "test/accuracy"], tmp_path)
    assert_one_paragraph(result, "'test/accuracy'", "Did you mean test/acc?", "test/loss")


def test_one_run_per_group(tmp_path):
    sweep = tmp_path / "sweep"
    for i, lr in enumerate((0.1, 0.01, 0.001)):  # a grid over one key, one seed
        write_run(sweep / str(i), "gru", 1, {"test/loss": lr}, overrides={"optimizer.lr": lr})
    result = compare([sweep], tmp_path)
    assert_one_paragraph(result, "at most one completed run", "optimizer.lr", "seed=1,2,3")


def test_a_search_compares_by_the_keys_it_did_not_search(tmp_path):
    # an Optuna-style search: every trial its own learning rate, the model a searched choice
    search = tmp_path / "search"
    trials = [
        ("rnn", 0.1, 1.2),
        ("gru", 0.05, 0.9),
        ("rnn", 0.02, 1.1),
        ("gru", 0.01, 0.8),
        ("rnn", 0.005, 1.3),
        ("gru", 0.002, 0.85),
    ]
    for i, (model, lr, loss) in enumerate(trials):
        write_run(search / str(i), model, 1, {"test/loss": loss}, overrides={"optimizer.lr": lr})
    result = compare([search], tmp_path)
    assert_one_paragraph(result, "at most one completed run", "--by model")
    result = compare([search, "--by", "model", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = read_rows(search / "comparison.csv")
    assert rows["rnn"]["n_completed"] == "3" and rows["gru"]["reference"] == "gru"
    assert float(rows["rnn"]["diff"]) == pytest.approx(1.2 - 0.85)
    assert "pooled: optimizer.lr" in result.stdout


def test_unknown_group_key_baseline_and_mode(tmp_path):
    sweep = cell_sweep(tmp_path)
    assert_one_paragraph(compare([sweep, "--by", "cell_type"], tmp_path), "--by cell_type", "model")
    assert_one_paragraph(
        compare([sweep, "--baseline", "transformer"], tmp_path), "not a group", "gru, rnn"
    )
    result = compare([sweep, "--metric", "test/acc", "--mode", "best"], tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr  # argparse's own message


def test_nothing_completed_yet(tmp_path):
    sweep = tmp_path / "sweep"
    write_run(sweep / "0", "rnn", 1, status="running")
    write_run(sweep / "1", "gru", 1, status="failed")
    assert_one_paragraph(compare([sweep], tmp_path), "None of the 2 runs", "1 running", "1 failed")


def test_metric_whose_direction_is_unknown(tmp_path):
    sweep = tmp_path / "sweep"
    for i, (model, seed) in enumerate((("rnn", 1), ("rnn", 2), ("gru", 1), ("gru", 2))):
        write_run(sweep / str(i), model, seed, {"test/widgets": float(i)})
    assert_one_paragraph(compare([sweep, "--metric", "test/widgets"], tmp_path), "--mode max")
    assert compare([sweep, "--metric", "test/widgets", "--mode", "max"], tmp_path).returncode == 0


# ------------------------------------------------------------------ a real sweep


def test_a_real_sweep_ends_with_its_comparison(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        ["-m", "model=rnn,gru", "seed=1,2", "task=classify", *TINY, f"hydra.sweep.dir={sweep}"],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("comparison.md", "comparison.csv", "comparison.png"):
        assert (sweep / name).is_file(), name
    rows = read_rows(sweep / "comparison.csv")
    assert set(rows) == {"rnn", "gru"}
    assert {rows[m]["n_completed"] for m in rows} == {"2"}
    assert "rnnlab-compare: 4 runs (4 completed), grouped by model" in result.stdout
    assert "On test/loss (lower is better)" in result.stdout
    # the learning curves come from each run's TensorBoard events
    from rnnlab.report.curves import scalar_curve
    from rnnlab.report.runs import find_runs

    assert all(scalar_curve(run, "val/loss") is not None for run in find_runs([sweep]))
    # the same folder through the command, and with compare=false nothing is written
    again = compare([sweep, "--metric", "test/acc", "--no-plot"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert "On test/acc (higher is better)" in again.stdout
    # compare=false: no files, and not even the note that one run cannot be compared
    quiet = tmp_path / "quiet"
    result = run_cli(
        "rnnlab.train",
        ["-m", "model=rnn", "task=classify", *TINY, "compare=false", f"hydra.sweep.dir={quiet}"],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (quiet / "comparison.md").exists()
    assert "rnnlab-compare" not in result.stdout + result.stderr


def test_a_partly_failed_sweep_still_ends_with_its_comparison(tmp_path):
    # Hydra re-raises a failed job's error after the sweep and skips on_multirun_end: the
    # comparison runs at exit instead, with the failed runs counted
    sweep = tmp_path / "sweep"
    result = run_cli(
        "rnnlab.train",
        [
            "-m",
            "model=rnn",
            "seed=1,2",
            "task=classify",
            *TINY,
            "model.hidden_size=16,0",  # after TINY, which sets model.hidden_size=16
            f"hydra.sweep.dir={sweep}",
        ],
        tmp_path,
        timeout=600,
    )
    assert result.returncode == 2, result.stderr[-3000:]
    assert "model.hidden_size=0 is not valid" in result.stderr
    rows = read_rows(sweep / "comparison.csv")
    assert rows["model.hidden_size=0"]["n_failed"] == "2"
    assert rows["model.hidden_size=16"]["n_completed"] == "2"
    assert "rnnlab-compare: 4 runs (2 completed, 2 failed)" in result.stdout
    assert "model.hidden_size=0 has no completed run with test/loss" in result.stdout
    assert "Traceback" not in result.stderr


class _Config(dict):
    """Enough of a Hydra config for the callback: ``.get`` and ``.hydra.sweep.dir``."""

    def __getattr__(self, name):
        return self[name]


def _sweep_config(sweep: Path, compare: bool = True) -> _Config:
    return _Config(compare=compare, hydra=_Config(sweep=_Config(dir=str(sweep))))


def test_the_sweep_callback_never_raises(tmp_path, capsys):
    from rnnlab.report.hydra_callback import CompareAtSweepEnd

    sweep = tmp_path / "sweep"
    write_run(sweep / "0", "rnn", 1, {"test/loss": 1.0})
    write_run(sweep / "1", "gru", 1, {"test/loss": 2.0})
    callback = CompareAtSweepEnd(plot=False)
    callback.on_multirun_start(_sweep_config(sweep))
    callback.on_multirun_end(_sweep_config(sweep))
    note = capsys.readouterr().err.strip()
    assert note.startswith("rnnlab-compare: no comparison for this sweep. Every group has at most")
    assert "\n" not in note
    callback.on_multirun_end(_sweep_config(sweep))  # once only (atexit after it: nothing)
    assert capsys.readouterr().err == ""
    # anything unexpected (here: the sweep dir is a file) is one paragraph too
    (tmp_path / "file").write_text("")
    callback.on_multirun_start(_sweep_config(tmp_path / "file"))
    callback.on_multirun_end(_sweep_config(tmp_path / "file"))
    assert "is not a directory" in capsys.readouterr().err
    callback.on_multirun_start(_sweep_config(sweep, compare=False))
    callback.on_multirun_end(_sweep_config(sweep, compare=False))
    assert capsys.readouterr().err == ""


def test_a_choice_that_follows_the_task_is_not_a_variant(tmp_path):
    # task=next_frame brings monitor=val_mse_per_frame, task=classify monitor=val_loss: within
    # each task's study only the model varies
    sweep = tmp_path / "sweep"
    job = 0
    for task, monitor in (("classify", "val_loss"), ("next_frame", "val_mse_per_frame")):
        for model, base in (("rnn", 0.5), ("gru", 0.7)):
            for seed in (1, 2):
                choices = {"model": model, "task": task, "data": "moving_digits"}
                write_run(
                    sweep / str(job),
                    model,
                    seed,
                    {"test/loss": 1 - base - seed / 100},
                    task=task,
                    extra={"choices": {**choices, "monitor": monitor}},
                )
                job += 1
    result = compare([sweep, "--metric", "test/loss"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert set(read_rows(sweep / "comparison.csv")) == {"rnn", "gru"}
    assert "monitor" not in (sweep / "comparison.md").read_text()
