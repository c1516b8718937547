"""Moving digits: the standard protocol's shapes and motion, reproducibility, disjoint splits."""

from __future__ import annotations

import hashlib

import pytest
import torch

from rnnlab.data.readers.digits import DigitImages, digit_pools, load_digits, split_digits
from rnnlab.data.sources.moving_digits import (
    MovingDigitsDataModule,
    direction_sector,
    generate_moving_digits,
)
from rnnlab.data.spec import frames_to_float


def small_module(**overrides) -> MovingDigitsDataModule:
    kwargs = dict(
        canvas_size=32,
        digit_size=14,
        seq_len=8,
        train_size=20,
        val_size=10,
        test_size=10,
        batch_size=4,
    )
    return MovingDigitsDataModule(**{**kwargs, **overrides})


def first_batch(loader) -> dict[str, torch.Tensor]:
    return next(iter(loader))


def test_default_batches_follow_the_moving_mnist_protocol():
    module = MovingDigitsDataModule(train_size=4, batch_size=4)
    batch = first_batch(module.train_dataloader())
    frames = frames_to_float(batch["frames"])  # as the task scales them on the device
    assert frames.shape == (4, 20, 1, 64, 64)
    assert frames.dtype == torch.float32
    assert frames.min() >= 0.0 and frames.max() <= 1.0
    assert batch["labels"].shape == (4, 20)
    assert module.spec.frame_shape == (1, 64, 64)


def test_digits_move_at_the_configured_speed_and_stay_in_the_canvas():
    pool = load_digits("mnist5k", 28)
    out = generate_moving_digits(pool, 64, 20, 64, 1, (3.6, 3.6), torch.Generator().manual_seed(0))
    frames = out["frames"][:, :, 0].float()  # (N, T, H, W)
    ys, xs = torch.arange(64.0)[:, None], torch.arange(64.0)[None, :]
    mass = frames.sum((-1, -2))
    centre = torch.stack(
        [(frames * xs).sum((-1, -2)) / mass, (frames * ys).sum((-1, -2)) / mass], -1
    )
    step = (centre[:, 1:] - centre[:, :-1]).norm(dim=-1)  # (N, T-1) px per frame
    # rounding to whole pixels and bounces shorten some steps; none is longer than speed + rounding
    assert step.max() <= 3.6 + 1.5
    assert 2.5 < step.median() < 4.5
    assert (mass > 0).all()  # the digit never leaves the canvas


def test_same_seed_gives_same_training_batches_and_epochs_differ():
    a, b = small_module(seed=7), small_module(seed=7)
    loader_a, loader_b = a.train_dataloader(), b.train_dataloader()
    assert torch.equal(first_batch(loader_a)["frames"], first_batch(loader_b)["frames"])
    epoch0 = first_batch(loader_a)["frames"]
    loader_a.sampler.set_epoch(1)
    assert not torch.equal(epoch0, first_batch(loader_a)["frames"])
    assert not torch.equal(epoch0, first_batch(small_module(seed=8).train_dataloader())["frames"])


def test_validation_set_is_fixed_whatever_the_run_seed():
    val_a = first_batch(small_module(seed=1).val_dataloader())["frames"]
    val_b = first_batch(small_module(seed=2).val_dataloader())["frames"]
    assert torch.equal(val_a, val_b)


def test_val_and_test_digits_are_disjoint_from_training_digits():
    pools = split_digits(load_digits("mnist5k", 28), 0.1, 0.1)
    flat = {name: {bytes(img.numpy()) for img in pool.images} for name, pool in pools.items()}
    assert not flat["train"] & flat["val"]
    assert not flat["train"] & flat["test"]
    assert not flat["val"] & flat["test"]
    assert len(pools["train"]) == 4000


def offset_ink_digits() -> DigitImages:
    """Two 28x28 'digits' whose ink sits far from their box's left edge or right at it:
    class 3 is ink value 100 in columns 20..27 from row 5, class 7 is ink 200 in columns 0..5 from
    row 10."""
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[0, 5:21, 20:28] = 100
    images[1, 10:16, 0:6] = 200
    return DigitImages(images, torch.tensor([3, 7]))


def test_first_digit_is_the_one_whose_ink_is_leftmost_in_the_first_frame():
    pool = offset_ink_digits()
    generator = torch.Generator().manual_seed(3)
    out = generate_moving_digits(pool, 300, 2, 64, 2, (3.6, 3.6), generator)
    frame = out["frames"][:, 0, 0]  # (N, H, W) first frames
    class_of_value = {100: 3, 200: 7}
    for i in range(len(frame)):
        column = int((frame[i] > 0).any(dim=0).nonzero()[0])  # leftmost inked column
        inked = frame[i, :, column].nonzero()[:, 0]  # its inked rows
        # the digit whose ink starts there (ties: the one whose ink starts higher up)
        expected = class_of_value[int(frame[i, inked[0], column])]
        assert int(out["digit"][i]) == expected, f"sequence {i}"
    # the boxes' corners often order the digits the other way round
    x0 = out["position"][:, :, 0, 0]  # (N, K) x of each box in frame 0
    assert (x0[:, 0] > x0[:, 1]).float().mean() > 0.1


def test_first_digits_pixels_are_drawn_where_its_position_says():
    pool = load_digits("mnist5k", 28)
    out = generate_moving_digits(pool, 200, 3, 64, 2, (3.6, 3.6), torch.Generator().manual_seed(3))
    n = torch.arange(200)
    x, y = out["position"][n, 0, 0, 0], out["position"][n, 0, 0, 1]
    window = torch.stack([out["frames"][i, 0, 0, y[i] : y[i] + 28, x[i] : x[i] + 28] for i in n])
    assert (window.flatten(1).max(dim=1).values > 0).all()


def test_direction_sectors_follow_image_coordinates():
    east, north, west, south = [[1.0, 0.0]], [[0.0, -1.0]], [[-1.0, 0.0]], [[0.0, 1.0]]
    velocity = torch.tensor([east, north, west, south, [[1.0, -1.0]]])
    assert direction_sector(velocity).flatten().tolist() == [0, 2, 4, 6, 1]


def test_direction_labels_change_when_the_digit_bounces():
    pool = load_digits("mnist5k", 28)
    out = generate_moving_digits(pool, 64, 40, 64, 1, (3.6, 3.6), torch.Generator().manual_seed(1))
    changes = (out["direction"][:, 1:] != out["direction"][:, :-1]).any(dim=1)
    assert changes.float().mean() > 0.5  # most digits hit a wall within 40 frames


def test_digit_labels_are_repeated_per_frame():
    batch = first_batch(small_module(label="digit").train_dataloader())
    labels = batch["labels"]
    assert (labels == labels[:, :1]).all()


def test_sklearn_digits_are_upsampled_to_the_digit_size():
    digits = load_digits("sklearn", 14)
    assert digits.images.shape[1:] == (14, 14)
    assert digits.images.dtype == torch.uint8
    assert int(digits.images.max()) > 200


def test_blank_frame_baseline_beats_copy_last_on_the_standard_protocol():
    module = MovingDigitsDataModule(test_size=200, batch_size=200)
    frames = frames_to_float(first_batch(module.test_dataloader())["frames"])
    context, target = frames[:, :10], frames[:, 10:]
    blank = target.square().flatten(2).sum(-1).mean()
    copy_last = (target - context[:, -1:]).square().flatten(2).sum(-1).mean()
    assert 150 < blank < 195  # ~174 on the original Moving MNIST test set
    assert 250 < copy_last < 320  # ~288 there


def test_without_bounce_digits_wrap_around_and_keep_their_velocity():
    pool = load_digits("mnist5k", 28)
    generator = torch.Generator().manual_seed(4)
    out = generate_moving_digits(pool, 64, 40, 64, 1, (3.6, 3.6), generator, bounce=False)
    frames = out["frames"][:, :, 0].long()  # (N, T, H, W)
    # every pixel of the digit is drawn in every frame, across the edges when it leaves one side
    mass = frames.sum((-1, -2))  # (N, T)
    assert (mass == mass[:, :1]).all()
    crossing = (frames[..., 0] > 0).any(-1) & (frames[..., -1] > 0).any(-1)  # (N, T)
    assert crossing.any(dim=1).float().mean() > 0.5
    assert (out["direction"] == out["direction"][:, :1]).all()
    assert out["position"].min() >= 0 and out["position"].max() < 64


def test_speed_range_bounds_the_steps_and_num_digits_are_drawn():
    pool = load_digits("mnist5k", 14)
    generator = torch.Generator().manual_seed(5)
    out = generate_moving_digits(pool, 128, 10, 48, 3, (1.0, 2.0), generator, bounce=False)
    assert out["position"].shape == (128, 3, 10, 2)
    # without walls a digit keeps its velocity: 9 steps move it 9 x speed (+-sqrt(2) from rounding)
    travel = (out["position"][:, :, -1] - out["position"][:, :, 0]).float()  # (N, K, 2)
    travel = (travel + 24).remainder(48) - 24  # undo the wrapping: |travel| <= 18 < 24
    speed = travel.norm(dim=-1) / 9
    margin = 2**0.5 / 9
    assert speed.min() >= 1.0 - margin and speed.max() <= 2.0 + margin
    assert speed.min() < 1.2 and speed.max() > 1.8  # the whole range is used
    assert (out["frames"].flatten(2) > 0).sum(-1).float().mean() > 2 * (14 * 14 / 4)


def test_bounce_is_a_data_option():
    module = small_module(bounce=False, seed=3)
    batch = first_batch(module.train_dataloader())
    assert batch["frames"].shape == (4, 8, 1, 32, 32)
    assert not torch.equal(
        batch["frames"], first_batch(small_module(seed=3).train_dataloader())["frames"]
    )


# sha256 (first 16 hex digits) of frames, digit, direction and position as generated by the
# per-digit indexing code before generation was vectorised (integration commit 9183e70): runs
# made since then must be reproduced bit for bit, resumed runs included.
RECORDED_DIGESTS = [
    # (digit_size, canvas_size, num_digits, seq_len, speed, bounce, seed, sequences, digest)
    (28, 64, 2, 20, (3.6, 3.6), True, 0, 16, "1e5461ccd02128c5"),  # the standard protocol
    (20, 28, 1, 10, (1.0, 2.0), True, 7, 64, "84c48a63ec62c1ec"),  # the seed systems' data
    (28, 64, 3, 7, (0.0, 5.0), False, 123, 16, "b92d80ccf418074e"),  # wrapping, overlaps
]


@pytest.mark.parametrize(
    "digit_size, canvas, digits, seq_len, speed, bounce, seed, n, digest", RECORDED_DIGESTS
)
def test_generated_sequences_are_bit_identical_to_the_recorded_ones(
    digit_size, canvas, digits, seq_len, speed, bounce, seed, n, digest
):
    pool = digit_pools("mnist5k", digit_size, 0.1, 0.1)["train"]
    generator = torch.Generator().manual_seed(seed)
    out = generate_moving_digits(pool, n, seq_len, canvas, digits, speed, generator, bounce)
    sha = hashlib.sha256()
    for key in ("frames", "digit", "direction", "position"):
        sha.update(out[key].numpy().tobytes())
    assert sha.hexdigest()[:16] == digest
