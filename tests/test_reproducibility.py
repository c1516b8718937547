"""Same config and seed -> the same numbers at every logged step (CPU, deterministic)."""

from __future__ import annotations

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import TINY, read_json

RUN = [
    *TINY,
    "task=classify",
    "model.num_layers=2",
    "model.dropout=0.3",
    "data.num_workers=1",
    "deterministic=true",
]


def logged_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def test_same_seed_gives_bit_identical_logged_values(train_run):
    _, first = train_run([*RUN, "seed=3"])
    _, second = train_run([*RUN, "seed=3"])
    a, b = logged_scalars(first), logged_scalars(second)
    assert len(a["train/loss"]) == 4  # every step logged
    assert a == b  # exact equality: every tag, step and value
    assert read_json(first / "run.json")["metrics"] == read_json(second / "run.json")["metrics"]


def test_another_seed_gives_other_values(train_run):
    _, first = train_run([*RUN, "seed=3"])
    _, other = train_run([*RUN, "seed=4"])
    assert logged_scalars(first)["train/loss"] != logged_scalars(other)["train/loss"]


def test_deterministic_flag_reaches_the_trainer(compose_config):
    assert compose_config(["deterministic=true"]).trainer.deterministic is True
    assert compose_config().trainer.deterministic is False
