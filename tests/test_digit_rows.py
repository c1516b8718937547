"""digit_rows: sequential digits read row by row or pixel by pixel, optionally permuted."""

from __future__ import annotations

import torch

from rnnlab.data.readers.digits import digit_pools
from rnnlab.data.sources.digit_rows import DigitRowsDataModule


def first_batch(loader) -> dict[str, torch.Tensor]:
    return next(iter(loader))


def test_sklearn_digits_are_8_rows_of_8_pixels_with_one_label_per_sequence():
    module = DigitRowsDataModule(digits="sklearn", batch_size=16)
    spec = module.spec
    assert (spec.seq_len, spec.channels, spec.height, spec.width) == (8, 1, 1, 8)
    assert (spec.num_classes, spec.label_level) == (10, "per_sequence")
    batch = first_batch(module.train_dataloader())
    assert batch["frames"].shape == (16, 8, 1, 1, 8) and batch["frames"].dtype == torch.uint8
    assert batch["labels"].shape == (16,) and batch["labels"].dtype == torch.int64


def test_rows_are_the_image_rows_in_order():
    module = DigitRowsDataModule(digits="mnist5k", batch_size=8)
    test_pool = digit_pools("mnist5k", 28, 0.1, 0.1)["test"]
    batch = first_batch(module.test_dataloader())
    assert batch["frames"].shape == (8, 28, 1, 1, 28)
    assert torch.equal(batch["frames"][:, :, 0, 0], test_pool.images[:8])  # frame t = row t
    assert torch.equal(batch["labels"], test_pool.labels[:8])


def test_pixel_mode_reads_one_pixel_per_step():
    module = DigitRowsDataModule(digits="sklearn", mode="pixels", batch_size=4)
    assert (module.spec.seq_len, module.spec.height, module.spec.width) == (64, 1, 1)
    rows = first_batch(DigitRowsDataModule(digits="sklearn", batch_size=4).test_dataloader())
    pixels = first_batch(module.test_dataloader())
    assert torch.equal(pixels["frames"].flatten(1), rows["frames"].flatten(1))


def test_permutation_is_fixed_by_its_own_seed_not_the_run_seed():
    def permuted(**kwargs) -> torch.Tensor:
        module = DigitRowsDataModule(digits="sklearn", mode="pixels", permute=True, **kwargs)
        return first_batch(module.test_dataloader())["frames"].flatten(1)  # (B, 64)

    plain = first_batch(DigitRowsDataModule(digits="sklearn", mode="pixels").test_dataloader())
    plain_pixels = plain["frames"].flatten(1)
    a, b = permuted(seed=1), permuted(seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, plain_pixels)
    assert torch.equal(a.sort(dim=1).values, plain_pixels.sort(dim=1).values)  # same pixels
    assert not torch.equal(a, permuted(permutation_seed=1))


def test_training_order_is_reshuffled_every_epoch_and_fixed_by_seed_and_epoch():
    def first_labels(seed: int, epoch: int) -> torch.Tensor:
        loader = DigitRowsDataModule(digits="sklearn", seed=seed, batch_size=32).train_dataloader()
        loader.sampler.set_epoch(epoch)  # as Lightning does at every epoch start
        return first_batch(loader)["labels"]

    first, second = first_labels(seed=3, epoch=0), first_labels(seed=3, epoch=1)
    assert not torch.equal(first, second)
    assert torch.equal(first_labels(seed=3, epoch=1), second)  # a fresh loader: a resumed run
