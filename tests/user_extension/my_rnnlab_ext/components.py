"""The README's worked example: a user's own cell, dataset and head."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rnnlab.data import DataSpec, SequenceDataModule


class LeakyIntegrator(nn.Module):
    """A user's cell: h_t = (1 - a) h_{t-1} + a tanh(W x_t), same interface as rnnlab's."""

    frame_input = "vector"
    width_key = "hidden_size"  # what model.param_budget sizes

    def __init__(self, input_size: int, hidden_size: int, leak: float = 0.5) -> None:
        super().__init__()
        self.proj = nn.Linear(input_size, hidden_size)
        self.leak = leak
        self.output_size = hidden_size

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        h = x.new_zeros(x.shape[0], self.output_size) if state is None else state
        outputs = []
        for t in range(x.shape[1]):  # x: (B, T, F)
            h = (1 - self.leak) * h + self.leak * torch.tanh(self.proj(x[:, t]))
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # (B, T, H), (B, H)


class LeakyConv(nn.Module):
    """A user's spatial core: h_t = (1 - a) h_{t-1} + a tanh(conv(x_t)), over maps (B, T, C, H, W).

    rnnlab feeds it patches of the frames (model.patch_size) and reads its maps out with a
    convolution (next_frame) or averages them over positions (classify).
    """

    frame_input = "spatial"
    width_key = "hidden_channels"  # what model.param_budget sizes

    def __init__(self, input_channels: int, hidden_channels: int, leak: float = 0.5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(input_channels, hidden_channels, kernel_size=3, padding=1)
        self.leak = leak
        self.output_channels = hidden_channels

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        b, _, _, height, width = x.shape  # (B, T, C, H, W)
        h = x.new_zeros(b, self.output_channels, height, width) if state is None else state
        outputs = []
        for t in range(x.shape[1]):
            h = (1 - self.leak) * h + self.leak * torch.tanh(self.conv(x[:, t]))
            outputs.append(h)
        return torch.stack(outputs, dim=1), h  # (B, T, C_h, H, W), (B, C_h, H, W)


class BlinkingSquares(SequenceDataModule):
    """A user's dataset: a square that blinks with a period of 2 or 3 frames; label = period - 2."""

    def __init__(
        self,
        size: int = 8,
        seq_len: int = 6,
        num_sequences: int = 32,
        batch_size: int = 8,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, num_workers=num_workers)
        self.size, self.seq_len, self.num_sequences = size, seq_len, num_sequences

    @property
    def spec(self) -> DataSpec:
        return DataSpec(
            channels=1,
            height=self.size,
            width=self.size,
            seq_len=self.seq_len,
            num_classes=2,
            label_level="per_sequence",
        )

    def _dataset(self, seed: int) -> TensorDataset:
        g = torch.Generator().manual_seed(seed)
        labels = torch.randint(0, 2, (self.num_sequences,), generator=g)
        t = torch.arange(self.seq_len)
        on = (t[None, :] % (labels[:, None] + 2) == 0).float()  # (N, T)
        frames = on[:, :, None, None, None].expand(-1, -1, 1, self.size, self.size).contiguous()
        return TensorDataset(frames, labels)

    def _loader(self, seed: int) -> DataLoader:
        def collate(items):
            frames, labels = zip(*items, strict=True)
            return {"frames": torch.stack(frames), "labels": torch.stack(labels)}

        return DataLoader(self._dataset(seed), batch_size=self.batch_size, collate_fn=collate)

    def train_dataloader(self) -> DataLoader:
        return self._loader(0)

    def val_dataloader(self) -> DataLoader:
        return self._loader(1)

    def test_dataloader(self) -> DataLoader:
        return self._loader(2)


class ScaledLinearHead(nn.Module):
    """A user's head: a linear layer whose logits are scaled by a temperature."""

    def __init__(self, in_features: int, out_features: int, temperature: float = 1.0) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) / self.temperature
