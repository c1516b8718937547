"""Metrics as the literature reports them.

Video prediction (Moving MNIST): per-frame errors are *summed over the pixels of a frame*, then
averaged over frames and sequences; pixel values in [0, 1].
"""

from __future__ import annotations

import torch
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassF1Score


def mse_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared error summed over each frame: ``(B, T, C, H, W)`` x2 -> ``(B, T)``."""
    return (prediction - target).square().flatten(start_dim=2).sum(dim=-1)


def mae_per_frame(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Absolute error summed over each frame: ``(B, T, C, H, W)`` x2 -> ``(B, T)``."""
    return (prediction - target).abs().flatten(start_dim=2).sum(dim=-1)


def classification_metrics(num_classes: int, prefix: str) -> MetricCollection:
    """Accuracy (micro) and macro-F1 over an epoch, named ``<prefix>acc``, ``<prefix>f1``."""
    return MetricCollection(
        {
            "acc": MulticlassAccuracy(num_classes, average="micro"),
            "f1": MulticlassF1Score(num_classes, average="macro"),
        },
        prefix=prefix,
    )
