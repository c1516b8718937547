"""Next-frame generation (Moving-MNIST protocol: ``context_frames`` in, ``predict_frames`` out).

Training uses teacher forcing: the model reads true frames ``0..n-2`` and predicts frames
``1..n-1`` (``n = context_frames + predict_frames``). With ``scheduled_sampling.steps > 0`` each
input frame after the context is, per sequence, the true frame with a probability that decays
linearly from 1 to ``scheduled_sampling.end`` over that many optimizer steps, else the model's own
prediction of it. Validation and test roll out autoregressively: the model reads the context,
predicts the next frame, and is fed its own predictions for the remaining ``predict_frames - 1``
steps.

What the losses cover: ``train/loss`` is the loss over the ``n - 1`` next-frame predictions
``1..n-1`` (context frames included, one step ahead of true or sampled inputs); ``val/loss`` and
``test/loss`` cover only the ``predict_frames`` frames of the rollout, predicted from the context
alone, like the metrics.

Metrics of validation and test (``val/<name>``, ``test/<name>``; definitions in
:mod:`rnnlab.tasks.metrics`): ``mse_per_frame`` and ``mae_per_frame`` (summed over a frame's
pixels, averaged over frames and sequences, on the predictions before clipping), ``psnr``,
``ssim`` (gaussian window, data range 1) and ``ssim_openstl`` (OpenSTL's: 7x7 uniform window,
data range 2), on predictions clipped to [0, 1]; each also per horizon (1, 2, ...
``predict_frames`` frames ahead), drawn in TensorBoard (``<stage>/per_horizon``) and kept in
:attr:`NextFramePredictor.per_horizon` for run.json. Model selection uses validation only; the
default monitor of this task is ``val/mse_per_frame`` (``conf/monitor/``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from rnnlab.data.spec import DataSpec
from rnnlab.errors import ConfigError
from rnnlab.tasks.base import SequenceTask
from rnnlab.tasks.images import StripSamples, horizon_image
from rnnlab.tasks.metrics import FRAME_METRICS, PerHorizon, frame_metrics, mse_per_frame
from rnnlab.values import NON_NEGATIVE_INT, POSITIVE_INT, Rule, is_number, one_of

LOSSES = ("mse", "bce", "l1")
# What validation and test log (``val/<name>``, ``test/<name>``); baselines once per stage.
EVALUATION_METRICS = (
    "loss",
    *FRAME_METRICS,  # mse_per_frame, mae_per_frame, psnr, ssim, ssim_openstl
    "baseline_copy_last_mse_per_frame",
    "baseline_blank_mse_per_frame",
)
ACTIVATIONS = ("sigmoid", "tanh", "identity")
SAMPLING_KEYS = ("steps", "end")
PROBABILITY = Rule(lambda v: is_number(v) and 0 <= v <= 1, "a number in [0, 1]")
EVALUATION_STAGES = ("val", "test")


class NextFramePredictor(SequenceTask):
    """Predict the next frames of a video with the task's ``SequenceModel`` (any core; the decoder
    gives raw frames: a dense head for vector cores, a convolutional read-out for spatial ones).

    ``loss=mse`` (or ``l1``) compares ``output_activation(raw)`` with the frames; ``loss=bce``
    treats the raw outputs as logits (for binary-like frames; predictions are their sigmoid). Which
    frames ``train/loss`` and ``val/loss`` cover: see the module docstring. Predicted
    frames are clipped to [0, 1], the range of real frames, before they are fed back. Metrics
    (module docstring), overall and per horizon, and two trivial baselines logged once per stage:
    copy the last context frame, and a blank frame.

    ``output_bias``: the decoder's output bias starts at this value (``null``: PyTorch's
    initialisation). ``-3.0`` with sigmoid outputs makes the first predictions near-blank
    (``sigmoid(-3) = 0.05``), a good start for sparse frames such as moving digits.

    Prediction strips (TensorBoard ``val/predictions`` every validation epoch and
    ``test/predictions``): the first ``image_samples`` sequences of the split, gathered across
    batches; validation and test loaders are not shuffled, so they are the same sequences every
    epoch and after a resume.
    """

    value_rules: ClassVar[dict[str, Rule]] = {
        "context_frames": POSITIVE_INT,
        "predict_frames": POSITIVE_INT,
        "image_samples": NON_NEGATIVE_INT,
        "loss": one_of(*LOSSES),
        "output_activation": one_of(*ACTIVATIONS),
        "scheduled_sampling.steps": NON_NEGATIVE_INT,
        "scheduled_sampling.end": PROBABILITY,
        "output_bias": Rule(lambda v: v is None or is_number(v), "a number, or null"),
    }
    legacy_prefixes: ClassVar[dict[str, str]] = {
        "core.": "model.core.",
        "head.": "model.decoder.head.",
    }
    fit_metrics: ClassVar[frozenset[str]] = frozenset(
        [
            "train/loss",
            "train/teacher_forcing",  # with scheduled sampling
            *(f"val/{name}" for name in EVALUATION_METRICS),
        ]
    )

    def __init__(
        self,
        model: dict[str, Any],
        optimizer: dict[str, Any],
        data_spec: dict[str, Any],
        head: dict[str, Any],
        context_frames: int = 10,
        predict_frames: int = 10,
        loss: Literal["mse", "bce", "l1"] = "mse",
        output_activation: Literal["sigmoid", "tanh", "identity"] = "sigmoid",
        image_samples: int = 4,
        scheduled_sampling: dict[str, Any] | None = None,
        scheduler: dict[str, Any] | None = None,
        output_bias: float | None = None,
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
                f"task.loss=bce reads the decoder's outputs as logits, so "
                f"task.output_activation={output_activation!r} cannot apply. "
                "Use task.output_activation=sigmoid with bce, or task.loss=mse."
            )
        self.context_frames, self.predict_frames = context_frames, predict_frames
        self.loss_name, self.output_activation = loss, output_activation
        self.image_samples = image_samples
        sampling = dict(scheduled_sampling or {})
        unknown = sorted(set(sampling) - set(SAMPLING_KEYS))
        if unknown:
            raise ConfigError(
                f"task.scheduled_sampling.{unknown[0]} is not a key of scheduled sampling. "
                f"Allowed keys: {', '.join(SAMPLING_KEYS)}."
            )
        self.sampling_steps, self.sampling_end = sampling.get("steps", 0), sampling.get("end", 0.0)
        self.frame_shape = self.spec.frame_shape
        self.check_data(self.spec)
        self.model = self.build_model(model, "frames", head)
        if output_bias is not None:
            self.model.decoder.init_output_bias(float(output_bias))
        self._baselines_logged: set[str] = set()
        # per stage: each metric's running mean per horizon (not saved in checkpoints)
        self.horizon_metrics = nn.ModuleDict(
            {
                stage: nn.ModuleDict({name: PerHorizon(predict_frames) for name in FRAME_METRICS})
                for stage in EVALUATION_STAGES
            }
        )
        self._horizon_curves: dict[str, dict[str, list[float]]] = {}
        self._strips = {stage: StripSamples(image_samples) for stage in EVALUATION_STAGES}

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

    @property
    def head(self) -> torch.nn.Module | None:
        """The dense head that starts a vector core's frame decoder (``None`` for spatial cores)."""
        return getattr(self.model.decoder, "head", None)

    def decode(self, outputs: torch.Tensor) -> torch.Tensor:
        """Core outputs ``(B, T, ...)`` -> raw frames ``(B, T, C, H, W)`` (logits for bce)."""
        return self.model.decode(outputs)

    def activate(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw decoder outputs -> frames as the loss sees them (before clipping)."""
        if self.output_activation == "sigmoid" or self.loss_name == "bce":
            return torch.sigmoid(raw)
        return torch.tanh(raw) if self.output_activation == "tanh" else raw

    def to_frames(self, raw: torch.Tensor) -> torch.Tensor:
        """Raw decoder outputs -> predicted frames clipped to [0, 1]."""
        return self.activate(raw).clamp(0.0, 1.0)

    def loss_fn(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss_name == "bce":
            return F.binary_cross_entropy_with_logits(raw, target)
        if self.loss_name == "l1":
            return F.l1_loss(self.activate(raw), target)
        return F.mse_loss(self.activate(raw), target)

    def rollout(self, context: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Autoregressive prediction: ``context (B, Tc, C, H, W)`` -> ``steps`` frames.

        Returns ``(frames, raw)``, both ``(B, steps, C, H, W)``: predicted frames in [0, 1] (each
        fed back as the next input) and the raw decoder outputs (for the loss).
        """
        outputs, state = self.model.recur(context)  # (B, Tc, ...)
        raw = [self.decode(outputs[:, -1:])[:, 0]]  # (B, C, H, W): frame Tc
        for _ in range(steps - 1):
            frame, state = self.model.step(self.to_frames(raw[-1]), state)  # (B, C, H, W)
            raw.append(frame)
        raw_all = torch.stack(raw, dim=1)  # (B, steps, C, H, W)
        return self.to_frames(raw_all), raw_all

    def forward(self, context: torch.Tensor, steps: int | None = None) -> torch.Tensor:
        """``context (B, Tc, C, H, W)`` -> predicted frames ``(B, steps, C, H, W)``."""
        return self.rollout(context, steps or self.predict_frames)[0]

    @property
    def teacher_forcing(self) -> float:
        """The probability of feeding a true frame after the context at the current step."""
        if self.sampling_steps == 0:
            return 1.0
        done = min(self.global_step / self.sampling_steps, 1.0)
        return 1.0 - done * (1.0 - self.sampling_end)

    def sampled_forcing(self, frames: torch.Tensor, probability: float) -> torch.Tensor:
        """Raw predictions ``(B, n-1, C, H, W)`` of frames ``1..n-1`` of ``frames (B, n, ...)``:
        the context is read as it is; each later input is, per sequence, the true frame with
        ``probability``, else the model's prediction of it."""
        raw, state = self.model(frames[:, : self.context_frames])  # (B, Tc, C, H, W)
        predictions, previous = [raw], raw[:, -1]  # previous: (B, C, H, W)
        for t in range(self.context_frames, frames.shape[1] - 1):
            keep = torch.rand(frames.shape[0], device=frames.device) < probability  # (B,)
            keep = keep.view(-1, *[1] * (frames.dim() - 2))  # (B, 1, 1, 1)
            inputs = torch.where(keep, frames[:, t], self.to_frames(previous))  # (B, C, H, W)
            previous, state = self.model.step(inputs, state)
            predictions.append(previous.unsqueeze(1))
        return torch.cat(predictions, dim=1)

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        frames = self.prepare_batch(batch)["frames"][:, : self.context_frames + self.predict_frames]
        probability = self.teacher_forcing
        if probability < 1.0:
            raw = self.sampled_forcing(frames, probability)
        else:
            raw, _ = self.model(frames[:, :-1])  # (B, n-1, C, H, W): teacher forcing
        loss = self.loss_fn(raw, frames[:, 1:])
        if self.step_logged:
            if probability < 1.0:
                self.log("train/teacher_forcing", probability, batch_size=frames.shape[0])
            self.log("train/loss", loss, prog_bar=True, batch_size=frames.shape[0])
        return loss

    def _evaluate(self, batch: dict[str, torch.Tensor], batch_idx: int, stage: str) -> None:
        frames = self.prepare_batch(batch)["frames"]
        context = frames[:, : self.context_frames]
        target = frames[:, self.context_frames : self.context_frames + self.predict_frames]
        predicted, raw = self.rollout(context, self.predict_frames)
        size = frames.shape[0]
        per_frame = frame_metrics(self.activate(raw), target)  # name -> (B, Tp), before clipping
        values = {"loss": self.loss_fn(raw, target)}
        values.update({name: value.mean() for name, value in per_frame.items()})
        if stage not in self._baselines_logged:
            copy_last = context[:, -1:].expand_as(target)
            values["baseline_copy_last_mse_per_frame"] = mse_per_frame(copy_last, target).mean()
            values["baseline_blank_mse_per_frame"] = target.square().flatten(2).sum(-1).mean()
        for name, value in values.items():
            self.log(  # sync_dist: under DDP, the mean over every process's share
                f"{stage}/{name}", value, prog_bar=name == "loss", batch_size=size, sync_dist=True
            )
        for name, value in per_frame.items():  # summed across processes by torchmetrics
            self.horizon_metrics[stage][name].update(value)
        if self.image_samples > 0 and self.logging_enabled:
            self._strips[stage].add(context, target, predicted)

    def _end_evaluation(self, stage: str) -> None:
        """Per-horizon curves and prediction strips of the pass that ends; then reset both."""
        metrics, strips = self.horizon_metrics[stage], self._strips[stage]
        if self.logging_enabled and all(m.update_called for m in metrics.values()):
            curves = torch.stack([metric.compute() for metric in metrics.values()])  # (M, Tp)
            self._horizon_curves[stage] = dict(zip(metrics, curves.cpu().tolist(), strict=True))
            writer = self.tensorboard
            if writer is not None:
                plot = horizon_image(self._horizon_curves[stage], stage)  # (3, H, W) uint8
                writer.add_image(f"{stage}/per_horizon", plot, self.global_step)
                image = strips.image()  # (C, H', W') on the frames' device
                if image is not None:
                    writer.add_image(f"{stage}/predictions", image.float().cpu(), self.global_step)
        for metric in metrics.values():
            metric.reset()
        strips.reset()

    @property
    def per_horizon(self) -> dict[str, list[float]]:
        """``{"test/mse_per_frame": [at 1, 2, ... frames ahead], ...}`` of the last test and
        validation passes (test first), plain floats for run.json's ``metrics.per_horizon``."""
        return {
            f"{stage}/{name}": curve
            for stage in ("test", "val")
            for name, curve in self._horizon_curves.get(stage, {}).items()
        }

    def _mark_baselines(self, stage: str) -> None:
        if self.logging_enabled:
            self._baselines_logged.add(stage)

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "val")

    def on_validation_epoch_end(self) -> None:
        self._mark_baselines("val")
        self._end_evaluation("val")

    def test_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self._evaluate(batch, batch_idx, "test")

    def on_test_epoch_end(self) -> None:
        self._end_evaluation("test")
