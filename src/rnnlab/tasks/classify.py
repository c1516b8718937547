"""Frame classification: a label per frame, or per sequence of frames."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from rnnlab.data.spec import DataSpec
from rnnlab.errors import ConfigError, DataError
from rnnlab.tasks.base import SequenceTask
from rnnlab.tasks.metrics import classification_metrics
from rnnlab.values import Rule, one_of

TARGETS = ("per_frame", "per_sequence")
POOLS = ("last", "mean")


class FrameClassifier(SequenceTask):
    """Classify each frame (``target=per_frame``: logits ``(B, T, K)``) or each sequence
    (``target=per_sequence``: the last features or their mean over time -> logits ``(B, K)``).

    The model gives features ``(B, T, F)`` per frame (a vector core's outputs; a spatial core's
    maps averaged over positions); the head maps them to logits.

    Labels ``(B, T)`` or ``(B,)``; for ``per_sequence`` on per-frame labels, the label of the last
    frame is the sequence's label. Loss: cross-entropy; metrics: accuracy and macro-F1.
    """

    value_rules: ClassVar[dict[str, Rule]] = {"target": one_of(*TARGETS), "pool": one_of(*POOLS)}
    fit_metrics: ClassVar[frozenset[str]] = frozenset(
        f"{stage}/{name}" for stage in ("train", "val") for name in ("loss", "acc", "f1")
    )

    def __init__(
        self,
        model: dict[str, Any],
        optimizer: dict[str, Any],
        data_spec: dict[str, Any],
        head: dict[str, Any],
        target: Literal["per_frame", "per_sequence"] = "per_frame",
        pool: Literal["last", "mean"] = "last",
        scheduler: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data_spec)
        self.save_hyperparameters()
        if target not in TARGETS:
            raise ConfigError(
                f"task.target={target!r} is not valid. Use one of: {', '.join(TARGETS)}."
            )
        if pool not in POOLS:
            raise ConfigError(f"task.pool={pool!r} is not valid. Use one of: {', '.join(POOLS)}.")
        self.target, self.pool = target, pool
        self.num_classes = self.spec.num_classes
        self.check_data(self.spec)
        self.model = self.build_model(model, "features")
        self.head = self.build_head(head, self.model.decoder.output_size, self.num_classes)
        self.train_metrics = classification_metrics(self.num_classes, "train/")
        # In checkpoints, so that a run resumed mid-epoch reports the epoch's accuracy in full.
        self.train_metrics.persistent(True)
        self.val_metrics = classification_metrics(self.num_classes, "val/")
        self.test_metrics = classification_metrics(self.num_classes, "test/")

    def check_data(self, spec: DataSpec) -> None:
        super().check_data(spec)
        if spec.num_classes is None or spec.label_level is None:
            raise ConfigError(
                "task=classify needs labelled data, but this data source has no labels. "
                "Use data that provides labels (e.g. data=moving_digits data.label=digit)."
            )
        if self.target == "per_frame" and spec.label_level != "per_frame":
            raise ConfigError(
                "task.target=per_frame needs a label per frame, but this data has one label per "
                "sequence. Use task.target=per_sequence, or data with per-frame labels."
            )
        if spec.num_classes != self.num_classes:
            raise ConfigError(
                f"The model predicts {self.num_classes} classes, but this data has "
                f"{spec.num_classes}. Use data with the same label set (e.g. the same data.label)."
            )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """``frames (B, T, C, H, W)`` -> logits ``(B, T, K)`` (per_frame) or ``(B, K)``."""
        outputs, _ = self.model(frames)  # (B, T, F)
        if self.target == "per_sequence":
            outputs = outputs[:, -1] if self.pool == "last" else outputs.mean(dim=1)  # (B, F)
        return self.head(outputs)

    def _targets(self, labels: torch.Tensor) -> torch.Tensor:
        if self.target == "per_sequence" and labels.dim() == 2:
            return labels[:, -1]  # (B,)
        return labels

    def _step(self, batch: dict[str, torch.Tensor], stage: str) -> torch.Tensor:
        batch = self.prepare_batch(batch)
        if "labels" not in batch:
            raise DataError(
                f"{self.data_source} yielded a batch without labels; task=classify needs them "
                '({"frames": ..., "labels": ...} or (frames, labels)).'
            )
        logits = self(batch["frames"])
        labels = self._targets(batch["labels"])
        flat_logits, flat_labels = logits.reshape(-1, self.num_classes), labels.reshape(-1)
        loss = F.cross_entropy(flat_logits, flat_labels)
        metrics = getattr(self, f"{stage}_metrics")
        metrics.update(flat_logits.detach(), flat_labels)
        batch_size = labels.shape[0]
        is_train = stage == "train"
        if not is_train or self.step_logged:
            self.log(
                f"{stage}/loss",
                loss,
                prog_bar=True,
                on_step=is_train,
                on_epoch=not is_train,
                batch_size=batch_size,
                sync_dist=not is_train,  # DDP: the mean over every process's share
            )
        return loss

    def _log_epoch_metrics(self, stage: str) -> None:
        """Accuracy and F1 of the epoch that ends (``<stage>/acc``, ``<stage>/f1``), logged once
        per epoch: updated every step, computed here (torchmetrics syncs them across processes).
        Logging the metric objects every step cost ~0.7 ms of Lightning's bookkeeping a step."""
        metrics = getattr(self, f"{stage}_metrics")
        if all(metric.update_called for metric in metrics.values()):
            # compute() already agrees across processes; sync_dist averages equal values once
            # per epoch (without it Lightning warns about epoch-level logging under DDP)
            self.log_dict(metrics.compute(), on_step=False, on_epoch=True, sync_dist=True)

    def on_train_epoch_start(self) -> None:
        if not self.resuming_mid_epoch:
            self.train_metrics.reset()  # a new epoch: not what a checkpoint restored

    def on_train_epoch_end(self) -> None:
        self._log_epoch_metrics("train")

    def on_validation_epoch_start(self) -> None:
        self.val_metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_start(self) -> None:
        self.test_metrics.reset()

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")
