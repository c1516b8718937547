"""What every rnnlab task shares: the data spec, the core, the optimizer, logging helpers.

A task's hyperparameters are primitives only (numbers, strings, lists, dicts): the core, head and
optimizer are *described* by config dicts with ``_target_`` and built here, so checkpoints load
under torch's default ``weights_only=True``.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch import nn

from rnnlab.config import build_from_config, import_target
from rnnlab.data.base import DataSpec
from rnnlab.errors import ConfigError
from rnnlab.models.frames import frame_size


class SequenceTask(L.LightningModule):
    """Base of rnnlab's tasks. Subclasses call :meth:`save_hyperparameters` with primitives only.

    ``model``, ``optimizer`` and ``head`` are config dicts with ``_target_`` (the core gets its
    input size from ``data_spec``; the head gets ``in_features``/``out_features``).
    """

    def __init__(self, data_spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = DataSpec(**data_spec)

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

    def build_core(self, model: dict[str, Any]) -> nn.Module:
        return build_core(model, self.spec.frame_shape)

    @staticmethod
    def build_head(head: dict[str, Any], in_features: int, out_features: int) -> nn.Module:
        return build_from_config(
            head, "task.head", in_features=in_features, out_features=out_features
        )

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return build_from_config(self.hparams["optimizer"], "optimizer", params=self.parameters())

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
    def logging_enabled(self) -> bool:
        """False while Lightning runs its sanity-check validation (nothing it logs is kept)."""
        return not self.trainer.sanity_checking


def build_core(model: dict[str, Any], frame_shape: tuple[int, int, int]) -> nn.Module:
    """Build the core described by the ``model`` config for frames of ``frame_shape``.

    The core's class says what it consumes (``frame_input``); dense cores get ``input_size``.
    """
    core_class = import_target(model.get("_target_"), "model")
    frame_input = getattr(core_class, "frame_input", "vector")
    if frame_input != "vector":
        raise ConfigError(
            f"model._target_={model['_target_']!r} declares frame_input={frame_input!r}; "
            "this version of rnnlab feeds cores flattened frames only (frame_input='vector')."
        )
    return build_from_config(model, "model", input_size=frame_size(frame_shape))
