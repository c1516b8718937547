"""The README's worked example of a plain LightningDataModule: nothing of rnnlab is imported."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset, random_split


class RisingOrFalling(L.LightningDataModule):
    """A bright bar moving one row per frame, up (label 1) or down (label 0), on a dark square.

    Batches are ``(frames, labels)``: frames uint8 ``(B, T, 1, size, size)``, labels ``(B,)``.
    """

    def __init__(
        self,
        size: int = 8,
        seq_len: int = 6,
        num_sequences: int = 64,
        batch_size: int = 16,
        num_workers: int = 0,
    ) -> None:
        super().__init__()
        self.size, self.seq_len, self.num_sequences = size, seq_len, num_sequences
        self.batch_size, self.num_workers = batch_size, num_workers

    def setup(self, stage: str | None = None) -> None:
        g = torch.Generator().manual_seed(0)
        n, t = self.num_sequences, torch.arange(self.seq_len)
        labels = torch.randint(0, 2, (n,), generator=g)
        start = torch.randint(0, self.size, (n, 1), generator=g)
        rows = (start + torch.where(labels[:, None] == 1, -t, t)) % self.size  # (N, T)
        frames = torch.zeros(n, self.seq_len, 1, self.size, self.size, dtype=torch.uint8)
        frames[torch.arange(n)[:, None], t, 0, rows] = 255  # row rows[i, t] of frame t is lit
        parts = random_split(TensorDataset(frames, labels), [0.75, 0.125, 0.125], generator=g)
        self.train_set, self.val_set, self.test_set = parts

    def _loader(self, dataset: TensorDataset, shuffle: bool = False) -> DataLoader:
        return DataLoader(
            dataset, batch_size=self.batch_size, shuffle=shuffle, num_workers=self.num_workers
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set)


class FramesWithoutChannels(RisingOrFalling):
    """A common mistake (not in the README): dict batches whose frames have no channel axis,
    ``(B, T, H, W)``."""

    def _loader(self, dataset: TensorDataset, shuffle: bool = False) -> DataLoader:
        def collate(items: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
            frames = torch.stack([f for f, _ in items])[:, :, 0]  # (B, T, H, W)
            return {"frames": frames, "labels": torch.stack([y for _, y in items])}

        return DataLoader(dataset, batch_size=self.batch_size, collate_fn=collate)
