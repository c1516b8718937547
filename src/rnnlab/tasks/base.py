"""What every rnnlab task shares: the data spec, the core, the optimizer, logging helpers.

A task's hyperparameters are primitives only (numbers, strings, lists, dicts): the core, head and
optimizer are *described* by config dicts with ``_target_`` and built here, so checkpoints load
under torch's default ``weights_only=True``.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn

from rnnlab.config import build_from_config
from rnnlab.data.spec import DataSpec, batch_dict, check_label_range, class_path, frames_to_float
from rnnlab.errors import ConfigError, DataError
from rnnlab.models import SequenceModel
from rnnlab.tasks.model import Output, build_model
from rnnlab.tasks.schedules import lr_scheduler_config

# Lightning warns whenever a LightningModule that defines its own batch hook is given a
# LightningDataModule; rnnlab's tasks define it on purpose (every batch is checked against the
# data spec before it moves to the device), so the warning would only be noise in every run.
warnings.filterwarnings("ignore", message=r"You have overridden `on_before_batch_transfer`")


class SequenceTask(L.LightningModule):
    """Base of rnnlab's tasks. Subclasses call :meth:`save_hyperparameters` with primitives only.

    ``model``, ``optimizer``, ``head`` and ``scheduler`` (optional) are config dicts with
    ``_target_``; the task's :class:`SequenceModel` (``self.model``) is built from ``model`` for
    the data's frames.

    ``fit_metrics``: every metric name the task logs while fitting (``train/*``, ``val/*``);
    the config's ``monitor.metric`` and callbacks' ``monitor`` are checked against it before
    anything is built. ``None``: not declared (a user's task), nothing is checked.
    """

    fit_metrics: ClassVar[frozenset[str] | None] = None

    # state-dict prefixes of checkpoints written before SequenceModel -> where they live now
    legacy_prefixes: ClassVar[dict[str, str]] = {"core.": "model.core."}

    def __init__(self, data_spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = DataSpec(**data_spec)
        self.register_load_state_dict_pre_hook(_rename_legacy_keys)

    def check_data(self, spec: DataSpec) -> None:
        """Raise :class:`ConfigError` when data of ``spec`` cannot feed this task.

        Called on the training data at construction and by ``rnnlab-eval`` on other data.
        """
        if spec.frame_shape != self.spec.frame_shape:
            raise ConfigError(
                f"The model takes frames of (C, H, W) = {self.spec.frame_shape}, but this data has "
                f"{spec.frame_shape}. Configure the data to the model's frame size (e.g. "
                "data.canvas_size), or train a model for this data."
            )

    @property
    def data_source(self) -> str:
        """What the batches come from, for messages: the data module's class, else the spec's
        source."""
        datamodule = getattr(self._trainer, "datamodule", None)
        if datamodule is not None:
            return class_path(datamodule)
        return self.spec.source or "the data"

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> dict[str, torch.Tensor]:
        """Every batch, still on the CPU: as a dict (from a ``(frames, labels)`` tuple too), checked
        against the spec the model was built for (shapes, dtypes, label range)."""
        source = self.data_source
        batch = batch_dict(batch, source)
        frames, labels = batch["frames"], batch.get("labels")
        if tuple(frames.shape[2:]) != self.spec.frame_shape:
            raise DataError(
                f"{source} yielded frames of shape {tuple(frames.shape)}; the model was built for "
                f"frames of (C, H, W) = {self.spec.frame_shape}, as (B, T, C, H, W). Every batch "
                "needs the same frame shape."
            )
        if labels is not None and self.spec.num_classes and labels.device.type == "cpu":
            check_label_range(labels, self.spec.num_classes, source)
        return batch

    def prepare_batch(self, batch: Any) -> dict[str, torch.Tensor]:
        """A step's batch as ``{"frames": float (B, T, C, H, W) in [0, 1], "labels": ...}``.

        ``uint8`` frames are scaled here, on the device (4x fewer bytes moved than float32), to
        the weights' dtype (``trainer.precision=bf16-true`` or ``64-true`` converts the weights).
        """
        batch = batch_dict(batch, self.data_source)  # a no-op for the dicts of the hook above
        return {**batch, "frames": frames_to_float(batch["frames"]).to(self.dtype)}

    def configure_model(self) -> None:
        """Lightning's hook, in each process that runs a stage: compile the model there when
        ``model.compile=true``."""
        self.model.prepare()

    def build_model(
        self, model: dict[str, Any], output: Output, head: dict[str, Any] | None = None
    ) -> SequenceModel:
        return build_model(model, self.spec.frame_shape, output, head)

    @property
    def core(self) -> nn.Module:
        """The recurrent core of :attr:`model`."""
        return self.model.core

    @staticmethod
    def build_head(head: dict[str, Any], in_features: int, out_features: int) -> nn.Module:
        return build_from_config(
            head, "task.head", in_features=in_features, out_features=out_features
        )

    def configure_optimizers(self) -> torch.optim.Optimizer | dict[str, Any]:
        optimizer = build_from_config(
            self.hparams["optimizer"], "optimizer", params=self.parameters()
        )
        scheduler = self.hparams.get("scheduler")
        if not scheduler:
            return optimizer
        steps = self.trainer.estimated_stepping_batches
        return {
            "optimizer": optimizer,
            "lr_scheduler": lr_scheduler_config(scheduler, optimizer, steps),
        }

    @property
    def tensorboard(self) -> Any | None:
        """The TensorBoard ``SummaryWriter`` of this run, or ``None`` when it logs elsewhere."""
        for logger in self.loggers:
            if isinstance(logger, TensorBoardLogger):
                return logger.experiment
        return None

    @property
    def resuming_mid_epoch(self) -> bool:
        """True at the start of an epoch that a resumed run continues from its middle."""
        done = self.trainer.fit_loop.epoch_loop.batch_progress.current.completed
        return 0 < done < self.trainer.num_training_batches

    @property
    def step_logged(self) -> bool:
        """True on the training steps whose values reach the loggers (every
        ``trainer.log_every_n_steps``, as Lightning decides; every step of ``fast_dev_run``) and on
        an epoch's last batch (so ``callback_metrics`` ends with the epoch's last value).

        Lightning's ``self.log`` cost ~1-2 ms of a ~43 ms step (2x128 LSTM, batch 64, one CPU
        thread) and a logger writes only every ``log_every_n_steps``: step values are logged on
        these steps only. The progress bar shows the last logged value.
        """
        trainer = self._trainer  # None outside a Trainer: log as asked
        connector = getattr(trainer, "_logger_connector", None)
        if trainer is None or connector is None or trainer.fast_dev_run:
            return True
        ready = trainer.fit_loop.epoch_loop.batch_progress.current.ready
        return bool(connector.should_update_logs) or ready >= trainer.num_training_batches

    @property
    def logging_enabled(self) -> bool:
        """False while Lightning runs its sanity-check validation (nothing it logs is kept)."""
        return not self.trainer.sanity_checking


def _rename_legacy_keys(
    task: SequenceTask, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
) -> None:
    """Load a checkpoint written before SequenceModel: rename its keys in place."""
    for key in list(state_dict):
        for old, new in task.legacy_prefixes.items():
            if key.startswith(prefix + old):
                state_dict[prefix + new + key[len(prefix + old) :]] = state_dict.pop(key)
                break
