"""Next-frame generation (Moving-MNIST protocol: ``context_frames`` in, ``predict_frames`` out).

Training uses teacher forcing: the core reads true frames ``0..n-2`` and predicts frames ``1..n-1``
(``n = context_frames + predict_frames``). Validation and test roll out autoregressively: the core
reads the context, predicts the next frame, and is fed its own predictions for the remaining
``predict_frames - 1`` steps.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from rnnlab.data.base import DataSpec
from rnnlab.errors import ConfigError
from rnnlab.models.frames import flatten_frames, frame_size, unflatten_frames
from rnnlab.tasks.base import SequenceTask
from rnnlab.tasks.images import prediction_strips
from rnnlab.tasks.metrics import mae_per_frame, mse_per_frame
from rnnlab.values import NON_NEGATIVE_INT, POSITIVE_INT, Rule, one_of

LOSSES = ("mse", "bce")
ACTIVATIONS = ("sigmoid", "tanh", "identity")


class NextFramePredictor(SequenceTask):
    """Predict the next frames of a video from a recurrent core and a dense decoder head.

    ``loss=mse`` compares ``output_activation(head(h))`` with the frames; ``loss=bce`` treats the
    head's outputs as logits (for binary-like frames; predictions are their sigmoid). Predicted
    frames are clipped to [0, 1], the range of real frames. Metrics: MSE and MAE per frame (summed
    over the pixels of a frame, averaged over frames and sequences), and two trivial baselines
    logged once per stage: copy the last context frame, and a blank frame.
    """

    value_rules: ClassVar[dict[str, Rule]] = {
        "context_frames": POSITIVE_INT,
        "predict_frames": POSITIVE_INT,
        "image_samples": NON_NEGATIVE_INT,
        "loss": one_of(*LOSSES),
        "output_activation": one_of(*ACTIVATIONS),
    }

    def __init__(
        self,
        model: dict[str, Any],
        optimizer: dict[str, Any],
        data_spec: dict[str, Any],
        head: dict[str, Any],
        context_frames: int = 10,
        predict_frames: int = 10,
        loss: Literal["mse", "bce"] = "mse",
        output_activation: Literal["sigmoid", "tanh", "identity"] = "sigmoid",
        image_samples: int = 4,
    ) -> None:
        super().__init__(data_spec)
        self.save_hyperparameters()
        if loss not in LOSSES:
            raise ConfigError(f"task.loss={loss!r} is not valid. Use one of: {', '.join(LOSSES)}.")
        if output_activation not in ACTIVATIONS:
            raise ConfigError(
                f"task.output_activation={output_activation!r} is not valid. "
                f"Use one of: {', '.join(ACTIVATIONS)}."
            )
        if loss == "bce" and output_activation != "sigmoid":
            raise ConfigError(
                f"task.loss=bce reads the head's outputs as logits, so "
                f"task.output_activation={output_activation!r} cannot apply. "
                "Use task.output_activation=sigmoid with bce, or task.loss=mse."
            )
        self.context_frames, self.predict_frames = context_frames, predict_frames
        self.loss_name, self.output_activation = loss, output_activation
        self.image_samples = image_samples
        self.frame_shape = self.spec.frame_shape
        self.check_data(self.spec)
        self.core = self.build_core(model)
        self.head = self.build_head(head, self.core.output_size, frame_size(self.frame_shape))
        self._baselines_logged: set[str] = set()

    def check_data(self, spec: DataSpec) -> None:
        super().check_data(spec)
        needed = self.context_frames + self.predict_frames
        if needed > spec.seq_len:
            where = f"the sequences in {spec.source}" if spec.source else "the data's sequences"
            raise ConfigError(
                f"task.context_frames + task.predict_frames = {self.context_frames} + "
                f"{self.predict_frames} = {needed} frames, but {where} have {spec.seq_len}. "
                "Lower them or use longer sequences (e.g. data.seq_len)."
            )

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Core outputs ``(B, T, H)`` -> raw frame outputs ``(B, T, C, H, W)`` (logits for bce)."""
        return unflatten_frames(self.head(outputs), self.frame_shape)

    def activate(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw head outputs -> frames as the loss sees them (before clipping)."""
        if self.output_activation == "sigmoid" or self.loss_name == "bce":
            return torch.sigmoid(raw)
        return torch.tanh(raw) if self.output_activation == "tanh" else raw

    def to_frames(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw head outputs -> predicted frames clipped to [0, 1]."""
        return self.activate(raw).clamp(0.0, 1.0)

    def loss_fn(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "bce":
            return F.binary_cross_entropy_with_logits(raw, target)
        return F.mse_loss(self.activate(raw), target)

    def rollout(self, context: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Autoregressive prediction: ``context (B, Tc, C, H, W)`` -> ``steps`` frames.

        Returns ``(frames, raw)``, both ``(B, steps, C, H, W)``: predicted frames in [0, 1] (each
        fed back as the next input) and the raw head outputs (for the loss).
        """
        outputs, state = self.core(flatten_frames(context))  # (B, Tc, H)
        raw = [self.decode(outputs[:, -1:])]  # (B, 1, C, H, W)
        for _ in range(steps - 1):
            outputs, state = self.core(flatten_frames(self.to_frames(raw[-1])), state)
            raw.append(self.decode(outputs))
        raw_all = torch.cat(raw, dim=1)
        return self.to_frames(raw_all), raw_all

    def forward(self, context: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """``context (B, Tc, C, H, W)`` -> predicted frames ``(B, steps, C, H, W)``."""
        return self.rollout(context, steps or self.predict_frames)[0]

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        frames = batch["frames"][:, : self.context_frames + self.predict_frames]
        outputs, _ = self.core(flatten_frames(frames[:, :-1]))  # (B, n-1, H)
        loss = self.loss_fn(self.decode(outputs), frames[:, 1:])
        self.log("train/loss", loss, prog_bar=True, batch_size=frames.shape[0])
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], batch_idx: int, stage: str) -> None:
        frames = batch["frames"]
        context = frames[:, : self.context_frames]
        target = frames[:, self.context_frames : self.context_frames + self.predict_frames]
        predicted, raw = self.rollout(context, self.predict_frames)
        size = frames.shape[0]
        values = {
            "loss": self.loss_fn(raw, target),
            "mse_per_frame": mse_per_frame(predicted, target).mean(),
            "mae_per_frame": mae_per_frame(predicted, target).mean(),
        }
        if stage not in self._baselines_logged:
            copy_last = context[:, -1:].expand_as(target)
            values["baseline_copy_last_mse_per_frame"] = mse_per_frame(copy_last, target).mean()
            values["baseline_blank_mse_per_frame"] = target.square().flatten(2).sum(-1).mean()
        for name, value in values.items():
            self.log(f"{stage}/{name}", value, prog_bar=name == "loss", batch_size=size)
        if batch_idx == 0 and self.image_samples > 0 and self.logging_enabled:
            self._log_strips(stage, context, target, predicted)

    def _log_strips(
        self, stage: str, context: torch.Tensor, target: torch.Tensor, predicted: torch.Tensor
    ) -> None:
        writer = self.tensorboard
        if writer is None:
            return
        n = self.image_samples
        strips = prediction_strips(context[:n], target[:n], predicted[:n])  # (C, H', W')
        writer.add_image(f"{stage}/predictions", strips.float().cpu(), self.global_step)

    def _mark_baselines(self, stage: str) -> None:
        if self.logging_enabled:
            self._baselines_logged.add(stage)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def on_validation_epoch_end(self) -> None:
        self._mark_baselines("val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")
