"""Every model x task x data combination composes and builds a working task (real Hydra)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from rnnlab.cli.assemble import build_datamodule, build_task
from rnnlab.config import CONFIG_DIR
from rnnlab.tasks import FrameClassifier, NextFramePredictor
from tests.conftest import TINY, TINY_CONV_RUN, TINY_RUN
from tests.data_makers import tiny_data_overrides

# digit_rows has one label per sequence and 8 steps (sklearn digits)
TASK_FOR_DATA = {
    ("digit_rows", "classify"): ["task.target=per_sequence"],
    ("digit_rows", "next_frame"): ["task.context_frames=4", "task.predict_frames=4"],
}


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


def test_config_groups_offer_the_documented_choices():
    assert {"rnn", "gru", "lstm", "conv_rnn", "conv_gru", "conv_lstm"} <= set(options("model"))
    assert {"classify", "next_frame"} <= set(options("task"))
    assert {"cpu", "gpu"} <= set(options("trainer"))
    assert {"tensorboard", "csv"} <= set(options("logger"))
    assert {"moving_digits", "digit_rows", "arrays", "frames_dir"} <= set(options("data"))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory) -> Callable[[str], list[str]]:
    """Overrides for a small ``data=<source>``; the files of file sources are written once."""
    made: dict[str, list[str]] = {}
    directory = tmp_path_factory.mktemp("tiny_data")

    def _overrides(source: str) -> list[str]:
        if source not in made:
            made[source] = tiny_data_overrides(source, Path(directory))
        return made[source]

    return _overrides


@pytest.mark.parametrize("data", options("data"))
@pytest.mark.parametrize("task", ["classify", "next_frame"])
@pytest.mark.parametrize("model", ["rnn", "gru", "lstm"])
def test_combination_builds_and_runs_a_batch(compose_config, tiny_data, model, task, data):
    data_overrides = [*tiny_data(data), *TASK_FOR_DATA.get((data, task), [])]
    cfg = compose_config(
        [f"model={model}", f"task={task}", f"data={data}", *data_overrides, *TINY_RUN]
    )
    datamodule = build_datamodule(cfg.data)
    module = build_task(cfg, datamodule.spec)
    batch = module.prepare_batch(next(iter(datamodule.train_dataloader())))
    assert batch["frames"].dtype == torch.float32 and batch["frames"].dim() == 5
    assert module.core.cell == model
    if task == "classify":
        assert isinstance(module, FrameClassifier)
        labels = batch["labels"]  # (B, T) per frame or (B,) per sequence
        assert module(batch["frames"]).shape[: labels.dim()] == labels.shape
    else:
        assert isinstance(module, NextFramePredictor)
        context = batch["frames"][:, : cfg.task.context_frames]
        assert module(context).shape[1] == cfg.task.predict_frames


def test_default_config_is_next_frame_lstm_on_standard_moving_digits(compose_config):
    cfg = compose_config()
    assert cfg.model.cell == "lstm"
    assert cfg.task._target_.endswith("NextFramePredictor")
    assert (cfg.task.context_frames, cfg.task.predict_frames) == (10, 10)
    assert (cfg.data.num_digits, cfg.data.canvas_size, cfg.data.digit_size) == (2, 64, 28)
    assert cfg.data.seq_len == 20
    assert cfg.hydra.sweep.dir.startswith("outputs/multirun/")


def test_data_seed_follows_the_run_seed(compose_config):
    assert compose_config(["seed=123"]).data.seed == 123


def test_model_knobs_reach_the_core(compose_config):
    cfg = compose_config(
        [*TINY, "model=gru", "model.hidden_size=24", "model.num_layers=3", "model.dropout=0.25"]
    )
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    rnn = module.core.rnn
    assert (rnn.hidden_size, rnn.num_layers, rnn.dropout) == (24, 3, 0.25)


def test_seed_frame_classifier_experiment_matches_the_seed_system(compose_config):
    cfg = compose_config(["experiment=seed_frame_classifier"])
    assert cfg.model.cell == "rnn" and cfg.model.hidden_size == 50 and cfg.model.num_layers == 2
    assert cfg.task.target == "per_frame" and cfg.data.label == "digit"
    assert (cfg.data.num_digits, cfg.data.canvas_size, cfg.data.seq_len) == (1, 28, 10)
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    assert module.core.rnn.input_size == 28 * 28
    assert module.num_classes == 10


def test_seed_next_frame_experiment_matches_the_seed_system(compose_config):
    cfg = compose_config(["experiment=seed_next_frame"])
    assert cfg.model.cell == "lstm" and cfg.model.hidden_size == 128 and cfg.model.num_layers == 2
    assert cfg.task.output_activation == "tanh" and cfg.task.loss == "mse"
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    assert module.core.rnn.input_size == 28 * 28
    assert module.head.net[-1].out_features == 28 * 28


@pytest.mark.parametrize("task", ["classify", "next_frame"])
def test_framewise_baseline_composes_with_both_tasks(compose_config, task):
    cfg = compose_config(["model=framewise", f"task={task}", *TINY])
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    assert type(module.core).__name__ == "FramewiseCore"


@pytest.mark.parametrize("task", ["classify", "next_frame"])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_conv_model_composes_and_its_knobs_reach_the_core(compose_config, cell, task):
    knobs = ["model.hidden_channels=[3,5]", "model.norm=group", "model.patch_size=4"]
    data = tiny_data_overrides("moving_digits")
    cfg = compose_config([f"model=conv_{cell}", f"task={task}", *data, *TINY_CONV_RUN, *knobs])
    module = build_task(cfg, build_datamodule(cfg.data).spec)
    core = module.core
    assert (core.cell, core.hidden_channels, core.layers[0].padding) == (cell, [3, 5], 1)
    assert isinstance(core.layers[1].norm, torch.nn.GroupNorm)
    assert module.model.encoder.output_channels == 16  # 4x4 patches of 1-channel frames
