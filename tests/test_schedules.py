"""The scheduler config group: each schedule's shape, and every choice through the entrypoint."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from rnnlab.config import CONFIG_DIR
from rnnlab.errors import ConfigError
from rnnlab.tasks.schedules import OneCycle, Plateau, WarmupCosine, lr_scheduler_config
from tests.conftest import TINY, read_json


def optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def rates(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> list[float]:
    seen = []
    for _ in range(steps):
        seen.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return seen


def test_warmup_cosine_rises_linearly_then_decays_to_its_floor():
    lr = rates(WarmupCosine(optimizer(), total_steps=10, warmup_steps=2, min_lr_ratio=0.1), 10)
    assert lr[:3] == pytest.approx([0.5, 1.0, 1.0])
    assert all(a >= b for a, b in itertools.pairwise(lr[2:]))  # then never rises
    progress = (9 - 2) / (10 - 2)  # the last step's share of the decay
    assert lr[-1] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def test_one_cycle_warms_up_to_the_optimizers_rate_then_anneals():
    lr = rates(OneCycle(optimizer(lr=0.5), total_steps=10, pct_start=0.3), 10)
    assert lr[0] == pytest.approx(0.5 / 25) and max(lr) == pytest.approx(0.5)
    assert lr.index(max(lr)) in (2, 3) and lr[-1] < lr[0]


def test_plateau_steps_on_the_monitored_metric_each_epoch():
    entry = lr_scheduler_config(
        {"_target_": "rnnlab.tasks.schedules.Plateau", "monitor": "val/mse_per_frame"},
        optimizer(),
        total_steps=float("inf"),
    )
    assert isinstance(entry["scheduler"], Plateau)
    assert (entry["interval"], entry["monitor"]) == ("epoch", "val/mse_per_frame")


def test_a_schedule_over_training_needs_a_known_length():
    with pytest.raises(ConfigError, match=r"trainer\.max_epochs"):
        lr_scheduler_config(
            {"_target_": "rnnlab.tasks.schedules.OneCycle"}, optimizer(), float("inf")
        )


def test_scheduler_group_offers_the_documented_choices_and_none_by_default(compose_config):
    choices = {p.stem for p in (CONFIG_DIR / "scheduler").glob("*.yaml")}
    assert choices == {"none", "onecycle", "cosine", "plateau"}
    assert not compose_config().scheduler  # a constant rate unless one is chosen


@pytest.mark.parametrize("choice", ["onecycle", "cosine", "plateau"])
def test_scheduler_choice_trains_and_logs_the_learning_rate(train_run, choice):
    extra = ["scheduler.warmup_steps=2"] if choice == "cosine" else []
    _, run_dir = train_run([f"scheduler={choice}", *extra, *TINY, "logger=csv"])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and record["choices"]["scheduler"] == choice
    csv = next(run_dir.rglob("metrics.csv")).read_text().splitlines()[0]
    assert "lr-Adam" in csv
