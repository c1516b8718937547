"""The Moving MNIST ConvLSTM experiments (CPU and GPU sizes) and the monitor each task picks."""

from __future__ import annotations

import pytest
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from rnnlab.cli.assemble import build_datamodule, build_task
from rnnlab.config import to_primitive
from rnnlab.config.validate import validate_config
from tests.conftest import read_json

PROTOCOL = {"num_digits": 2, "canvas_size": 64, "digit_size": 28, "seq_len": 20, "bounce": True}
# the CPU experiment cut to seconds: a smaller canvas, few sequences, one small layer
TINY_CPU_EXPERIMENT = [
    "experiment=moving_mnist_convlstm",
    "data.canvas_size=32",
    "data.digit_size=14",
    "data.train_size=16",
    "data.val_size=8",
    "data.test_size=8",
    "data.batch_size=4",
    "model.hidden_channels=[4]",
    "model.kernel_size=3",
    "task.scheduled_sampling.steps=2",
    "scheduler.warmup_steps=1",
    "trainer.max_epochs=1",
    "~callbacks.progress_bar",
]


FEW_SEQUENCES = ["data.train_size=16", "data.val_size=8", "data.test_size=8"]


def validated(cfg) -> dict:
    """The resolved config, checked as rnnlab-train checks it before building anything."""
    HydraConfig.instance().set_config(cfg)
    cfg = cfg.copy()
    with open_dict(cfg):
        del cfg["hydra"]  # as the entrypoint sees it
    config = to_primitive(cfg)
    validate_config(config)
    return config


def test_cpu_experiment_is_the_standard_protocol_sized_for_20_minutes(compose_config):
    cfg = compose_config(["experiment=moving_mnist_convlstm"])
    config = validated(cfg)
    assert {k: config["data"][k] for k in PROTOCOL} == PROTOCOL
    assert (config["task"]["context_frames"], config["task"]["predict_frames"]) == (10, 10)
    assert config["model"]["hidden_channels"] == [32, 32] and config["model"]["kernel_size"] == 5
    assert config["model"]["patch_size"] == 4 and config["data"]["batch_size"] == 16
    assert config["optimizer"]["lr"] == pytest.approx(3e-3)
    assert config["scheduler"]["_target_"].endswith("WarmupCosine")
    assert config["scheduler"]["warmup_steps"] > 0
    assert config["trainer"]["max_time"] == "00:00:20:00"
    assert config["trainer"]["gradient_clip_val"] == 1.0
    assert config["trainer"]["precision"] == "bf16-mixed"  # ~1.8x faster steps on this CPU
    steps = config["trainer"]["max_epochs"] * config["data"]["train_size"] // 16
    assert config["task"]["scheduled_sampling"]["steps"] == steps // 2  # over the first half
    assert config["task"]["output_bias"] == -3.0
    assert config["monitor"] == {"metric": "val/mse_per_frame", "mode": "min"}


def test_cpu_experiment_starts_from_near_blank_predictions(compose_config):
    cfg = compose_config(TINY_CPU_EXPERIMENT)
    task = build_task(cfg, build_datamodule(cfg.data).spec)
    assert torch.all(task.model.decoder.output_layer.bias == -3.0)
    with torch.no_grad():
        predicted = task(torch.zeros(2, 10, 1, 32, 32))  # (B, 10, C, H, W)
    assert predicted.mean() < 0.1  # sigmoid(-3) = 0.047: near the blank frame


def test_full_experiment_has_the_published_gpu_recipe(compose_config):
    cfg = compose_config(["experiment=moving_mnist_convlstm_full"])
    config = validated(cfg)
    assert {k: config["data"][k] for k in PROTOCOL} == PROTOCOL
    assert config["model"]["hidden_channels"] == [128] * 4 and config["model"]["kernel_size"] == 5
    assert config["model"]["patch_size"] == 4
    assert config["scheduler"]["_target_"].endswith("OneCycle")
    assert config["optimizer"]["_target_"] == "torch.optim.Adam"
    assert config["task"]["scheduled_sampling"]["steps"] > 0
    assert config["monitor"]["metric"] == "val/mse_per_frame"
    task = build_task(cfg, build_datamodule(cfg.data).spec)
    assert task.core.hidden_channels == [128] * 4 and len(task.core.layers) == 4


@pytest.mark.parametrize(
    ("overrides", "metric"),
    [
        ([], "val/mse_per_frame"),  # the default task, next_frame
        (["task=classify"], "val/loss"),
        (["monitor.metric=val/loss"], "val/loss"),  # one key away
        (["monitor=val_loss"], "val/loss"),  # or the group choice
        (["experiment=moving_mnist_convlstm", "monitor.metric=val/loss"], "val/loss"),
    ],
)
def test_each_task_picks_its_default_monitor_and_the_user_overrides_it(
    compose_config, overrides, metric
):
    cfg = compose_config(overrides)
    assert cfg.monitor.metric == metric
    assert cfg.callbacks.best_checkpoint.monitor == metric


def test_tiny_cpu_experiment_runs_through_the_entrypoint(train_run):
    _, run_dir = train_run(TINY_CPU_EXPERIMENT)
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["choices"]["experiment"] == "moving_mnist_convlstm"
    assert record["tags"] == ["moving_mnist_convlstm"]
    assert record["config"]["trainer"]["max_time"] == "00:00:20:00"
    assert record["metrics"]["best"]["metric"] == "val/mse_per_frame"
    final = record["metrics"]["final"]
    assert {"test/mse_per_frame", "test/ssim", "test/ssim_openstl", "test/psnr"} <= set(final)
    assert len(record["metrics"]["per_horizon"]["test/mse_per_frame"]) == 10


@pytest.mark.parametrize("experiment", ["moving_mnist_lstm", "moving_mnist_cnn_lstm"])
def test_dense_experiments_run_the_convlstm_protocol(compose_config, experiment):
    conv = validated(compose_config(["experiment=moving_mnist_convlstm"]))
    dense = validated(compose_config([f"experiment={experiment}"]))
    for group in ("data", "task", "optimizer", "scheduler", "trainer", "monitor"):
        assert dense[group] == conv[group], group
    assert dense["model"]["_target_"].endswith("DenseCore") and dense["model"]["cell"] == "lstm"


@pytest.mark.parametrize(
    ("experiment", "encoder"),
    [("moving_mnist_lstm", "FlattenEncoder"), ("moving_mnist_cnn_lstm", "CNNEncoder")],
)
def test_dense_experiments_match_the_convlstm_parameter_count(compose_config, experiment, encoder):
    def parameters(overrides: list[str]) -> tuple[int, str]:
        cfg = compose_config([*overrides, *FEW_SEQUENCES])  # sizes do not depend on how many
        task = build_task(cfg, build_datamodule(cfg.data).spec)
        count = sum(p.numel() for p in task.parameters() if p.requires_grad)
        return count, type(task.model.encoder).__name__

    conv, _ = parameters(["experiment=moving_mnist_convlstm"])
    dense, built = parameters([f"experiment={experiment}"])
    assert built == encoder
    assert abs(dense - conv) / conv < 0.05  # 359,184 for the ConvLSTM


def test_tiny_cnn_lstm_experiment_runs_through_the_entrypoint(train_run):
    tiny = [arg for arg in TINY_CPU_EXPERIMENT if not arg.startswith(("experiment=", "model."))]
    overrides = [
        "experiment=moving_mnist_cnn_lstm",
        "model.param_budget=null",
        "model.hidden_size=8",
    ]
    _, run_dir = train_run([*overrides, *tiny])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["choices"]["experiment"] == "moving_mnist_cnn_lstm"
    assert record["config"]["model"]["encoder"] == "cnn"
    assert len(record["metrics"]["per_horizon"]["test/mse_per_frame"]) == 10
