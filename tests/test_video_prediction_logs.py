"""What a next-frame run shows and records: prediction strips of a fixed set of validation
sequences every epoch, per-horizon curves (TensorBoard and run.json), the default monitor, and the
decoder's output bias."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from rnnlab.models.decoders import CNNFrameDecoder, ConvFrameDecoder, VectorFrameDecoder
from rnnlab.models.encoders import CNNEncoder
from rnnlab.models.heads import MLPHead
from rnnlab.tasks.images import StripSamples, prediction_strips
from rnnlab.tasks.metrics import FRAME_METRICS
from tests.conftest import TINY, read_json, run_cli

SIZE, GAP = 32, 2  # TINY's canvas; the strips' gap
STRIP = 4 * SIZE + 3 * GAP  # one sequence: context / truth / prediction / error rows
BAND = 3 * GAP  # between sequences


@pytest.fixture(scope="session")
def two_epochs(tmp_path_factory) -> Path:
    """A tiny next-frame run over 2 epochs; validation batches of 2, strips of 3 sequences."""
    run_dir = tmp_path_factory.mktemp("video_logs") / "run"
    args = [*TINY, "data.batch_size=2", "task.image_samples=3", "trainer.max_epochs=2"]
    result = run_cli("rnnlab.train", [*args, f"hydra.run.dir={run_dir}"], run_dir.parent)
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


def events(run_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(
        read_json(run_dir / "run.json")["tensorboard_dir"], size_guidance={"images": 0}
    )
    accumulator.Reload()
    return accumulator


def decoded(image_event) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image_event.encoded_image_string)))


@pytest.mark.xdist_group("video_two_epochs")
def test_validation_strips_show_the_same_sequences_every_epoch(two_epochs):
    strips = events(two_epochs).Images("val/predictions")
    assert len(strips) == 2  # one per validation epoch (not the sanity check)
    first, second = decoded(strips[0]), decoded(strips[1])
    # the first 3 sequences of the split, gathered across validation batches of 2
    assert first.shape[0] == 3 * STRIP + 2 * BAND
    for k in range(3):
        top = k * (STRIP + BAND)
        known = slice(top, top + 2 * SIZE + GAP)  # the context and truth rows
        np.testing.assert_array_equal(first[known], second[known])
        assert first[known].any()  # digits, not an empty image


@pytest.mark.xdist_group("video_two_epochs")
def test_per_horizon_curves_are_drawn_and_recorded(two_epochs):
    accumulator = events(two_epochs)
    assert len(accumulator.Images("val/per_horizon")) == 2
    assert len(accumulator.Images("test/per_horizon")) == 1
    record = read_json(two_epochs / "run.json")
    curves = record["metrics"]["per_horizon"]
    expected = [f"{stage}/{name}" for stage in ("test", "val") for name in FRAME_METRICS]
    assert list(curves) == expected  # test first: what rnnlab-compare plots
    assert all(len(curve) == 10 for curve in curves.values())  # t+1 ... t+10
    final = record["metrics"]["final"]
    for name in FRAME_METRICS:  # the curve's mean is the stage's metric (equal frames per step)
        assert np.mean(curves[f"test/{name}"]) == pytest.approx(final[f"test/{name}"], rel=1e-4)


@pytest.mark.xdist_group("video_two_epochs")
def test_eval_of_the_best_checkpoint_reproduces_the_test_curves(two_epochs, tmp_path):
    checkpoint = two_epochs / "checkpoints" / "best.ckpt"
    result = run_cli(
        "rnnlab.cli.evaluate", [f"ckpt_path={checkpoint}", f"hydra.run.dir={tmp_path}"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    curves = read_json(tmp_path / "test_metrics.json")["per_horizon"]
    trained = read_json(two_epochs / "run.json")["metrics"]["per_horizon"]
    for name in FRAME_METRICS:
        assert curves[f"test/{name}"] == pytest.approx(trained[f"test/{name}"], rel=1e-5)


@pytest.mark.xdist_group("video_two_epochs")
def test_next_frame_picks_the_best_checkpoint_by_rollout_mse_per_frame(two_epochs):
    record = read_json(two_epochs / "run.json")
    assert record["metrics"]["best"]["metric"] == "val/mse_per_frame"
    assert record["config"]["monitor"] == {"metric": "val/mse_per_frame", "mode": "min"}
    assert record["metrics"]["best"]["value"] == pytest.approx(
        min(e.value for e in events(two_epochs).Scalars("val/mse_per_frame")), rel=1e-6
    )


def test_strip_samples_are_the_first_n_across_batches_on_the_frames_device():
    samples = StripSamples(3)
    frames = torch.arange(5.0).view(5, 1, 1, 1, 1).expand(5, 2, 1, 4, 4) / 10  # sequence i = i/10
    for start, stop in ((0, 1), (1, 3), (3, 5)):  # batches of 1, 2, 2
        batch = frames[start:stop].to("meta")
        samples.add(batch, batch, batch)
    image = samples.image()
    assert image is not None and image.device.type == "meta"  # no copy to the CPU on the way
    samples = StripSamples(3)
    for start, stop in ((0, 1), (1, 3), (3, 5)):
        samples.add(frames[start:stop], frames[start:stop], frames[start:stop])
    torch.testing.assert_close(samples.image(), prediction_strips(*[frames[:3]] * 3))
    samples.reset()
    assert samples.image() is None


def test_output_bias_sets_the_last_layer_of_every_frame_decoder():
    encoder = CNNEncoder((1, 16, 16), (4, 8))
    decoders = [
        VectorFrameDecoder(MLPHead(8, 16 * 16, hidden_sizes=[12]), (1, 16, 16)),
        CNNFrameDecoder(MLPHead(8, encoder.output_size), encoder, 1),
        ConvFrameDecoder(6, 1, patch_size=4),
    ]
    for decoder in decoders:
        decoder.init_output_bias(-3.0)
        assert torch.all(decoder.output_layer.bias == -3.0)
    zeros = torch.zeros(2, 3, 6, 4, 4)  # a spatial core's outputs before any training signal
    torch.testing.assert_close(decoders[2](zeros), torch.full((2, 3, 1, 16, 16), -3.0))
