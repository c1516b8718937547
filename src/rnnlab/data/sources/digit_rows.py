"""Sequential-MNIST-style classification (``data=digit_rows``): a digit image read as a sequence.

``mode=rows`` reads an ``S x S`` image row by row: ``S`` frames of ``1 x S`` (8 steps for
``digits=sklearn``, 28 for ``mnist5k`` / ``mnist``). ``mode=pixels`` reads it pixel by pixel:
``S*S`` frames of ``1 x 1`` (784 steps for MNIST, the long-memory benchmark). ``permute=true``
shuffles the pixels with one fixed permutation (from ``permutation_seed``, the same for every
run) before they are read: the permuted sequential MNIST benchmark. Labels are one digit class per
sequence, ``(B,)``.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from rnnlab.data.base import DataSpec, SequenceDataModule
from rnnlab.data.readers.digits import NATIVE_SIZE, DigitImages, check_source, digit_pools
from rnnlab.errors import ConfigError

MODES = ("rows", "pixels")


def digit_sequences(
    images: torch.Tensor, mode: str, permutation: torch.Tensor | None
) -> torch.Tensor:
    """Images ``uint8 (N, S, S)`` -> sequences ``uint8 (N, T, 1, H, W)``: ``(N, S, 1, 1, S)`` for
    ``rows``, ``(N, S*S, 1, 1, 1)`` for ``pixels``; pixels reordered by ``permutation`` first."""
    n, size = images.shape[0], images.shape[-1]
    pixels = images.reshape(n, size * size)  # (N, S*S) in reading order
    if permutation is not None:
        pixels = pixels[:, permutation]
    if mode == "rows":
        return pixels.reshape(n, size, 1, 1, size)
    return pixels.reshape(n, size * size, 1, 1, 1)


class DigitSequences(Dataset):
    """Digit images as sequences: ``frames`` uint8 ``(T, 1, H, W)`` and a ``labels`` scalar each."""

    def __init__(self, digits: DigitImages, mode: str, permutation: torch.Tensor | None) -> None:
        self.frames = digit_sequences(digits.images, mode, permutation)  # (N, T, 1, H, W)
        self.labels = digits.labels

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"frames": self.frames[index], "labels": self.labels[index]}


class DigitRowsDataModule(SequenceDataModule):
    """Sequential digits: batches ``frames (B, T, 1, H, W)`` (rows: ``H = 1, W = S``; pixels:
    ``H = W = 1``) and ``labels (B,)``. Train order shuffled anew every epoch (from ``seed``);
    validation and test digits are disjoint from training digits (as in ``moving_digits``).
    """

    def __init__(
        self,
        digits: str = "mnist5k",
        mnist_dir: str | None = None,
        mode: str = "rows",
        permute: bool = False,
        permutation_seed: int = 0,
        val_digits: float = 0.1,
        test_digits: float = 0.1,
        seed: int = 0,
        batch_size: int = 64,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        check_source(digits)
        if mode not in MODES:
            raise ConfigError(f"data.mode={mode!r} is not valid. Use one of: {', '.join(MODES)}.")
        self.digits, self.mnist_dir = digits, mnist_dir
        self.mode, self.permute, self.permutation_seed = mode, permute, permutation_seed
        self.val_digits, self.test_digits = val_digits, test_digits
        self.seed = seed
        self.size = NATIVE_SIZE[digits]
        self._datasets: dict[str, DigitSequences] | None = None

    @property
    def permutation(self) -> torch.Tensor | None:
        """The fixed pixel permutation ``(S*S,)`` of ``permute=true``, else ``None``."""
        if not self.permute:
            return None
        generator = torch.Generator().manual_seed(self.permutation_seed)
        return torch.randperm(self.size * self.size, generator=generator)

    @property
    def datasets(self) -> dict[str, DigitSequences]:
        """``train`` / ``val`` / ``test`` sequences, built (and the digits loaded) on first use."""
        if self._datasets is None:
            pools = digit_pools(
                self.digits, self.size, self.val_digits, self.test_digits, self.mnist_dir
            )
            permutation = self.permutation
            self._datasets = {
                split: DigitSequences(pool, self.mode, permutation) for split, pool in pools.items()
            }
        return self._datasets

    @property
    def spec(self) -> DataSpec:
        frames = self.datasets["train"].frames  # (N, T, 1, H, W)
        return DataSpec(
            channels=1,
            height=frames.shape[3],
            width=frames.shape[4],
            seq_len=frames.shape[1],
            num_classes=10,
            label_level="per_sequence",
        )

    def train_dataloader(self) -> DataLoader:
        return self.train_loader(self.datasets["train"], self.seed)

    def val_dataloader(self) -> DataLoader:
        return self.eval_loader(self.datasets["val"])

    def test_dataloader(self) -> DataLoader:
        return self.eval_loader(self.datasets["test"])
