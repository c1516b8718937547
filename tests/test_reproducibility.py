"""Same config and seed -> the same numbers at every logged step (CPU, deterministic)."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import TINY, read_json, run_cli

RUN = [
    *TINY,
    "task=classify",
    "model.num_layers=2",
    "model.dropout=0.3",
    "data.num_workers=1",
    "deterministic=true",
]


def logged_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(read_json(run_dir / "run.json")["tensorboard_dir"])
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def test_same_seed_gives_bit_identical_logged_values_and_another_seed_does_not(train_run, tmp_path):
    _, first = train_run([*RUN, "seed=3"])
    # the same seed again in a new process (job 0), and another seed (job 1)
    sweep = tmp_path / "sweep"
    result = run_cli("rnnlab.train", ["-m", *RUN, "seed=3,4", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    a, b, other = logged_scalars(first), logged_scalars(sweep / "0"), logged_scalars(sweep / "1")
    assert len(a["train/loss"]) == 4  # every step logged
    assert a == b  # exact equality: every tag, step and value
    first_metrics = read_json(first / "run.json")["metrics"]
    again_metrics = read_json(sweep / "0" / "run.json")["metrics"]
    assert first_metrics["final"] == again_metrics["final"]  # the checkpoint paths differ
    assert first_metrics["best"] == again_metrics["best"]
    assert a["train/loss"] != other["train/loss"]


def test_deterministic_flag_reaches_the_trainer(compose_config):
    assert compose_config(["deterministic=true"]).trainer.deterministic is True
    assert compose_config().trainer.deterministic is False
