"""Code that can run on a GPU keeps every tensor on the device of its inputs.

No GPU is needed: the task and the image code run on tensors of PyTorch's ``meta`` device (shapes
without data). Any tensor they create on the CPU and mix with their inputs raises
"Tensor on device cpu is not on the expected device meta".
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import lightning as L
import pytest
import torch
from lightning.pytorch.loops.progress import _BatchProgress

from rnnlab.run.callbacks import RngStateInCheckpoint
from rnnlab.tasks import FrameClassifier, NextFramePredictor
from rnnlab.tasks.images import prediction_strips

SPEC = {"channels": 1, "height": 8, "width": 8, "seq_len": 6, "num_classes": 5}
CORE = {"_target_": "rnnlab.models.cells.DenseCore", "hidden_size": 16, "num_layers": 2}
ADAM = {"_target_": "torch.optim.Adam", "lr": 1e-3}
HEAD = {"_target_": "rnnlab.models.heads.MLPHead", "hidden_sizes": [8]}
META = torch.device("meta")


def frames(b: int = 2, t: int = 6) -> torch.Tensor:
    """A batch of frames ``(B, T, C, H, W)`` on the meta device."""
    return torch.empty(b, t, 1, 8, 8, device=META)


def on_meta(task: L.LightningModule) -> L.LightningModule:
    """``task`` moved to the meta device, with ``self.log`` recording nothing (no Trainer)."""
    task = task.to(META)
    task.log = lambda *args, **kwargs: None
    return task


def test_prediction_strips_are_built_on_the_device_of_the_frames():
    context, truth = frames()[:, :3], frames()[:, 3:]
    image = prediction_strips(context, truth, truth)
    assert image.device == META and image.shape == (1, 2 * (4 * 8 + 3 * 2) + 3 * 2, 3 * 10)


CORES = {
    "rnn": {**CORE, "cell": "rnn"},
    "gru": {**CORE, "cell": "gru"},
    "lstm": {**CORE, "cell": "lstm"},
    "framewise": {"_target_": "rnnlab.models.cells.FramewiseCore", "hidden_size": 16},
    "gru_cnn_encoder": {**CORE, "cell": "gru", "encoder": "cnn", "encoder_channels": [4, 4]},
    "conv_lstm": {
        "_target_": "rnnlab.models.cells.ConvCore",
        "cell": "lstm",
        "hidden_channels": [4, 4],
        "kernel_size": 3,
        "norm": "group",
        "encoder": "patchify",
        "patch_size": 2,
    },
    "conv_gru": {
        "_target_": "rnnlab.models.cells.ConvCore",
        "cell": "gru",
        "hidden_channels": [4],
        "kernel_size": 3,
        "norm": "layer",
        "encoder": "patchify",
        "patch_size": 2,
    },
}


@pytest.mark.parametrize("core", CORES)
def test_next_frame_training_and_rollout_stay_on_the_device_of_the_batch(core):
    task = on_meta(
        NextFramePredictor(
            model=CORES[core],
            optimizer=ADAM,
            data_spec=SPEC,
            head=HEAD,
            context_frames=3,
            predict_frames=3,
            image_samples=0,
        )
    )
    batch = {"frames": frames()}
    assert task.training_step(batch, 0).device == META
    task.validation_step(batch, 0)  # rollout, metrics and baselines
    assert task(frames()[:, :3], steps=4).shape == (2, 4, 1, 8, 8)


@pytest.mark.parametrize("target", ["per_frame", "per_sequence"])
def test_classifier_forward_stays_on_the_device_of_the_batch(target):
    task = on_meta(
        FrameClassifier(
            model={**CORE, "cell": "gru"},
            optimizer=ADAM,
            data_spec={**SPEC, "label_level": "per_frame"},
            head=HEAD,
            target=target,
        )
    )
    logits = task(frames())
    assert logits.device == META and logits.shape[-1] == 5


class FakeCuda:
    """Stands in for ``torch.cuda`` on a machine without a GPU: two devices with RNG states."""

    def __init__(self) -> None:
        self.states = [torch.tensor([1], dtype=torch.uint8), torch.tensor([2], dtype=torch.uint8)]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: len(self.states))
        monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: list(self.states))
        monkeypatch.setattr(torch.cuda, "set_rng_state_all", self.set_states)

    def set_states(self, states: list[torch.Tensor]) -> None:
        self.states = list(states)


def checkpoint_rng(callback: RngStateInCheckpoint) -> dict[str, Any]:
    """What ``callback`` saves in a checkpoint written between two epochs."""
    loop = SimpleNamespace(batch_progress=_BatchProgress())  # no batch of the epoch done yet
    trainer = SimpleNamespace(fit_loop=SimpleNamespace(epoch_loop=loop), num_training_batches=4)
    checkpoint: dict[str, Any] = {}
    callback.on_save_checkpoint(trainer, None, checkpoint)
    return checkpoint


def test_checkpoints_carry_the_cuda_rng_states_and_resume_restores_them(monkeypatch):
    cuda = FakeCuda()
    cuda.install(monkeypatch)
    callback = RngStateInCheckpoint()
    checkpoint = checkpoint_rng(callback)
    assert [int(s) for s in checkpoint["rnnlab_rng"]["cuda"]] == [1, 2]

    cuda.states = [torch.tensor([7], dtype=torch.uint8)] * 2  # the GPU draws on
    callback.on_load_checkpoint(None, None, checkpoint)
    assert [int(s) for s in cuda.states] == [1, 2]


def test_scheduled_sampling_draws_on_the_device_of_the_batch():
    task = on_meta(
        NextFramePredictor(
            model=CORES["gru"],
            optimizer=ADAM,
            data_spec=SPEC,
            head=HEAD,
            context_frames=3,
            predict_frames=3,
            scheduled_sampling={"steps": 10, "end": 0.0},
        )
    )
    raw = task.sampled_forcing(frames(), probability=0.5)  # a true frame or a prediction each step
    assert raw.device == META and raw.shape == (2, 5, 1, 8, 8)
