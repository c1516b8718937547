"""Moving-MNIST-style sequences: handwritten digits bouncing in a canvas, generated in torch.

Defaults follow the standard protocol (Srivastava et al., 2015): 2 digits of 28x28 on a 64x64
canvas, 20 frames, speed ~3.6 px per frame in a uniformly random direction, bouncing off the walls,
overlaps combined by maximum. With ``bounce=False`` the canvas wraps around instead (a torus): a
digit leaving on one side comes back on the opposite side at the same speed, so every frame holds
every digit. Generation is vectorised over whole batches (only the motion loops, over frames, in
numpy; all digits of all frames are pasted in one scatter) and deterministic given a seed.

Labels (``label=digit|direction``) refer to the *first* digit, which is the leftmost one in the
first frame: the digit whose ink reaches the leftmost column (ties broken by the row its ink starts
at), whatever blank margin its 28x28 box has, so "first" is something a model can see:

- ``digit``: its class, repeated per frame ``(B, T)``;
- ``direction``: per frame, the direction in which it is moving at that frame, in 8 sectors of
  45 degrees (0 = east, 2 = north, 4 = west, 6 = south). One frame alone cannot tell it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.data.readers.digits import DigitImages, digit_pools
from rnnlab.errors import ConfigError
from rnnlab.values import BOOLEAN, POSITIVE_INT, RANGE, Rule, one_of

LABEL_KINDS = ("digit", "direction")
NUM_DIRECTIONS = 8


def direction_sector(velocity: torch.Tensor) -> torch.Tensor:
    """Velocity ``(..., 2)`` as ``(vx, vy)``, y down -> direction sector ``(...)`` in 0..7."""
    angle = torch.atan2(-velocity[..., 1], velocity[..., 0])  # counter-clockwise from east
    sector = torch.round(angle / (2 * math.pi / NUM_DIRECTIONS)).long()
    return sector.remainder(NUM_DIRECTIONS)


def ink_start(images: torch.Tensor) -> torch.Tensor:
    """Images ``(..., S, S)`` -> ``(..., 2)``: the first inked (non-zero) column and row of each,
    as ``(x, y)`` inside its box; ``S`` for a blank image (never leftmost)."""
    size = images.shape[-1]
    inked = images > 0
    positions = torch.arange(size, device=images.device)

    def first(mask: torch.Tensor) -> torch.Tensor:  # (..., S) -> (...)
        return torch.where(mask, positions, size).min(dim=-1).values

    return torch.stack((first(inked.any(dim=-2)), first(inked.any(dim=-1))), dim=-1)


def move(
    position: np.ndarray, velocity: np.ndarray, steps: int, span: float, canvas: int, bounce: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and velocities float32 ``(N, K, 2)`` at the first frame -> both at every frame,
    ``(N, K, steps, 2)``: digits bounce off the walls at 0 and ``span`` (the part of a step beyond
    a wall comes back, the velocity flips), or wrap around a ``canvas`` of that side.

    In numpy: on arrays this small each operation costs a third of torch's dispatch, and float32
    arithmetic gives the same bits.
    """
    positions = np.empty((steps, *position.shape), dtype=np.float32)
    velocities = np.empty_like(positions)
    far_wall = np.float32(2 * span)
    for step in range(steps):
        positions[step], velocities[step] = position, velocity
        position = position + velocity
        if not bounce:
            position = np.remainder(position, np.float32(canvas))
            continue
        below, above = position < 0, position > span
        position = np.where(below, -position, position)
        position = np.where(above, far_wall - position, position)
        velocity = np.where(below | above, -velocity, velocity)
    return positions.transpose(1, 2, 0, 3), velocities.transpose(1, 2, 0, 3)


def generate_moving_digits(
    pool: DigitImages,
    num_sequences: int,
    seq_len: int,
    canvas_size: int,
    num_digits: int,
    speed: tuple[float, float],
    generator: torch.Generator,
    bounce: bool = True,
) -> dict[str, torch.Tensor]:
    """Generate sequences of digits from ``pool`` moving in a square canvas, bouncing off its
    walls (``bounce=True``) or wrapping around its edges.

    Returns ``frames`` uint8 ``(N, T, 1, H, W)``, ``digit`` int64 ``(N,)`` (class of the first
    digit), ``direction`` int64 ``(N, T)`` (sector of the first digit's velocity per frame) and
    ``position`` int64 ``(N, K, T, 2)`` (top-left ``(x, y)`` of each digit per frame; digit 0 is
    the first; with wrapping, a digit's pixels continue across the edges from there).
    """
    n, t, k = num_sequences, seq_len, num_digits
    size = pool.images.shape[-1]
    span = float(canvas_size - size)

    which = torch.randint(len(pool), (n, k), generator=generator)  # (N, K)
    position = torch.rand(n, k, 2, generator=generator) * span  # (N, K, 2) as (x, y)
    # The first digit is the leftmost one in the first frame: sort the digit slots by where their
    # ink starts as drawn (the box corner rounded to pixels + the ink's offset in the box), by
    # column, then by row.
    ink = position.round().long() + ink_start(pool.images[which])  # (N, K, 2) as (x, y)
    key = ink[..., 0] * (2 * canvas_size + 1) + ink[..., 1]  # (N, K)
    order = torch.argsort(key, dim=1, stable=True)
    which = which.gather(1, order)
    position = position.gather(1, order[..., None].expand(-1, -1, 2))

    angle = torch.rand(n, k, generator=generator) * (2 * math.pi)
    low, high = speed
    magnitude = low + (high - low) * torch.rand(n, k, generator=generator)
    velocity = torch.stack((torch.cos(angle), torch.sin(angle)), dim=-1) * magnitude[..., None]

    positions, velocities = move(position.numpy(), velocity.numpy(), t, span, canvas_size, bounce)
    corner = torch.from_numpy(positions).round().long()  # (N, K, T, 2)
    if bounce:
        corner.clamp_(0, int(span))
    else:
        corner.remainder_(canvas_size)
    direction = direction_sector(torch.from_numpy(velocities[:, 0]))  # (N, T)

    # Paste each digit slot into all frames at once: each pixel of a digit goes to its flat index
    # in a canvas ``(N, T, H, W)`` of its own (within one slot no two pixels meet, so a scatter
    # without reduction, which parallelises, unlike a reducing one); overlaps of the slots keep
    # the maximum.
    area = canvas_size * canvas_size
    offsets = torch.arange(size)
    frame_start = (torch.arange(n * t) * area).view(n, t, 1, 1)  # (N, T, 1, 1)
    canvas = torch.zeros(n * t * area, dtype=torch.uint8)
    for slot in range(k):
        rows = corner[:, slot, :, 1, None, None] + offsets[:, None]  # (N, T, S, 1)
        cols = corner[:, slot, :, 0, None, None] + offsets[None, :]  # (N, T, 1, S)
        if not bounce:  # a wrapping digit continues across the edges
            rows, cols = rows % canvas_size, cols % canvas_size
        pixel = (frame_start + rows * canvas_size + cols).flatten()  # (N * T * S * S,)
        ink = pool.images[which[:, slot]][:, None].expand(n, t, size, size).flatten()
        layer = torch.zeros_like(canvas) if slot else canvas
        layer.scatter_(0, pixel, ink)
        if slot:
            torch.maximum(canvas, layer, out=canvas)
    canvas = canvas.view(n, t, canvas_size, canvas_size)
    return {
        "frames": canvas[:, :, None],
        "digit": pool.labels[which[:, 0]],
        "direction": direction,
        "position": corner,
    }


def sequence_labels(generated: dict[str, torch.Tensor], label: str) -> torch.Tensor:
    """Per-frame labels ``(N, T)`` of kind ``label`` from :func:`generate_moving_digits` output."""
    if label == "digit":
        return generated["digit"][:, None].expand_as(generated["direction"]).contiguous()
    return generated["direction"]


@dataclass(frozen=True)
class MovingDigitsRecipe:
    """How :class:`MovingDigitsDataModule` generates its sequences (picklable: DataLoader workers
    started with ``spawn`` receive it, never the data module and its Trainer)."""

    seq_len: int
    canvas_size: int
    num_digits: int
    speed: tuple[float, float]
    bounce: bool
    label: str

    def generate(self, pool: DigitImages, size: int, seed: int) -> dict[str, torch.Tensor]:
        """``size`` sequences from digit ``pool``: ``frames`` uint8 ``(N, T, 1, H, W)``,
        ``labels`` int64 ``(N, T)``."""
        generated = generate_moving_digits(
            pool,
            num_sequences=size,
            seq_len=self.seq_len,
            canvas_size=self.canvas_size,
            num_digits=self.num_digits,
            speed=self.speed,
            generator=torch.Generator().manual_seed(seed),
            bounce=self.bounce,
        )
        return {"frames": generated["frames"], "labels": sequence_labels(generated, self.label)}


class GeneratedTrainBatches(Dataset):
    """Training batches generated on the fly: new sequences every epoch, reproducible from the seed.

    Item ``epoch * len(self) + i`` (the keys :class:`~rnnlab.data.sampling.EpochSampler` yields
    with ``offset_by_epoch``) is batch ``i`` of that epoch, generated from
    ``SeedSequence([seed, epoch, i])``: the data does not depend on the number of workers or the
    order they run in. Items ``0 .. len - 1`` are epoch 0's batches (what ``overfit_batches``
    reads every epoch).
    """

    def __init__(
        self,
        recipe: MovingDigitsRecipe,
        pool: DigitImages,
        seed: int,
        train_size: int,
        batch_size: int,
    ) -> None:
        self.recipe, self.pool, self.seed = recipe, pool, seed
        self.train_size, self.batch_size = train_size, batch_size

    def __len__(self) -> int:
        return math.ceil(self.train_size / self.batch_size)

    def __getitem__(self, key: int) -> dict[str, torch.Tensor]:
        epoch, index = divmod(int(key), len(self))
        state = np.random.SeedSequence([self.seed, epoch, index]).generate_state(1)[0]
        size = min(self.batch_size, self.train_size - index * self.batch_size)
        return self.recipe.generate(self.pool, size, int(state))


class TensorDictDataset(Dataset):
    """A fixed set of sequences held as tensors with a shared first dimension."""

    def __init__(self, tensors: dict[str, torch.Tensor]) -> None:
        self.tensors = tensors

    def __len__(self) -> int:
        return int(next(iter(self.tensors.values())).shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {name: tensor[index] for name, tensor in self.tensors.items()}


class MovingDigitsDataModule(SequenceDataModule):
    """Moving handwritten digits: train sequences new every epoch, val/test fixed by their seeds.

    Batches: ``frames`` ``(B, T, 1, H, W)`` and ``labels`` ``(B, T)`` (see the module docstring).
    Digits used for val/test sequences are disjoint from the digits of training sequences.
    ``digits`` names the digit source (:data:`~rnnlab.data.digits.DIGIT_SOURCES`; ``mnist`` reads
    the IDX files in ``mnist_dir``).
    """

    value_rules: ClassVar[dict[str, Rule]] = {
        **SequenceDataModule.value_rules,
        **dict.fromkeys(
            ("num_digits", "canvas_size", "digit_size", "seq_len", "train_size", "val_size"),
            POSITIVE_INT,
        ),
        "test_size": POSITIVE_INT,
        "speed": RANGE,
        "bounce": BOOLEAN,
        "label": one_of(*LABEL_KINDS),
    }

    def __init__(
        self,
        digits: str = "mnist5k",
        mnist_dir: str | None = None,
        num_digits: int = 2,
        canvas_size: int = 64,
        digit_size: int = 28,
        seq_len: int = 20,
        speed: Sequence[float] = (3.6, 3.6),
        bounce: bool = True,
        label: str = "digit",
        train_size: int = 10000,
        val_size: int = 1000,
        test_size: int = 1000,
        seed: int = 0,
        val_seed: int = 1,
        test_seed: int = 2,
        val_digits: float = 0.1,
        test_digits: float = 0.1,
        batch_size: int = 16,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        if label not in LABEL_KINDS:
            raise ConfigError(
                f"data.label={label!r} is not a label of moving_digits. "
                f"Use one of: {', '.join(LABEL_KINDS)}."
            )
        if digit_size > canvas_size:
            raise ConfigError(
                f"data.digit_size={digit_size} is larger than data.canvas_size={canvas_size}: "
                "digits must fit in the canvas. Lower digit_size or raise canvas_size."
            )
        if len(speed) != 2 or not 0 <= speed[0] <= speed[1]:
            raise ConfigError(
                f"data.speed={list(speed)} is not a speed range. Give [min, max] in pixels per "
                "frame with 0 <= min <= max, e.g. data.speed=[3.6,3.6]."
            )
        self.digits = digits
        self.mnist_dir = mnist_dir
        self.num_digits = num_digits
        self.canvas_size = canvas_size
        self.digit_size = digit_size
        self.seq_len = seq_len
        self.speed = (float(speed[0]), float(speed[1]))
        self.bounce = bounce
        self.label = label
        self.train_size = train_size
        self.val_size = val_size
        self.test_size = test_size
        self.seed = seed
        self.val_seed = val_seed
        self.test_seed = test_seed
        self.val_digits = val_digits
        self.test_digits = test_digits
        self._pools: dict[str, DigitImages] | None = None
        self._fixed: dict[str, TensorDictDataset] = {}

    @property
    def spec(self) -> DataSpec:
        self.pools  # noqa: B018 -- loads and checks the digit source before training starts
        return DataSpec(
            channels=1,
            height=self.canvas_size,
            width=self.canvas_size,
            seq_len=self.seq_len,
            num_classes=10 if self.label == "digit" else NUM_DIRECTIONS,
            label_level="per_frame",
        )

    @property
    def recipe(self) -> MovingDigitsRecipe:
        return MovingDigitsRecipe(
            self.seq_len, self.canvas_size, self.num_digits, self.speed, self.bounce, self.label
        )

    def generate(self, pool: DigitImages, size: int, seed: int) -> dict[str, torch.Tensor]:
        """A batch of ``size`` sequences from digit ``pool``: ``frames`` uint8, ``labels`` int64."""
        return self.recipe.generate(pool, size, seed)

    def _fixed_set(self, split: str, size: int, seed: int) -> TensorDictDataset:
        """The fixed val/test set, generated once in chunks (bounded peak memory)."""
        if split not in self._fixed:
            chunks = [
                self.generate(self.pools[split], min(1024, size - start), seed + start)
                for start in range(0, size, 1024)
            ]
            self._fixed[split] = TensorDictDataset(
                {name: torch.cat([c[name] for c in chunks]) for name in chunks[0]}
            )
        return self._fixed[split]

    @property
    def pools(self) -> dict[str, DigitImages]:
        if self._pools is None:
            self._pools = digit_pools(
                self.digits, self.digit_size, self.val_digits, self.test_digits, self.mnist_dir
            )
        return self._pools

    def train_dataloader(self) -> DataLoader:
        dataset = GeneratedTrainBatches(
            self.recipe, self.pools["train"], self.seed, self.train_size, self.batch_size
        )
        return self.train_loader(dataset, self.seed, offset_by_epoch=True, batch_size=None)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader(self._fixed_set("val", self.val_size, self.val_seed))

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader(self._fixed_set("test", self.test_size, self.test_seed))
