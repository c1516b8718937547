"""Final metrics of a run: gathered from the Trainer, logged as TensorBoard hparams, summarised."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
import yaml
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig
from torch.utils.tensorboard.summary import hparams

from rnnlab.config.groups import HPARAM_GROUPS
from rnnlab.run.callbacks import TrainThroughput
from rnnlab.run.directory import last_checkpoint_path
from rnnlab.run.record import final_fields


def scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """Lightning's ``callback_metrics`` (tensors) as plain floats, sorted by name."""
    return {
        name: float(value.item() if isinstance(value, torch.Tensor) else value)
        for name, value in sorted(metrics.items())
    }


def checkpoint_callback(trainer: L.Trainer, monitor: str | None = None) -> ModelCheckpoint | None:
    """The ModelCheckpoint that keeps the best checkpoint by ``monitor`` (by default the
    Trainer's first one), or ``None``: a callback without a metric keeps the latest, not the best.
    """
    for callback in trainer.checkpoint_callbacks:
        if (
            isinstance(callback, ModelCheckpoint)
            and callback.monitor is not None
            and (monitor is None or callback.monitor == monitor)
        ):
            return callback
    return None


def best_checkpoint(trainer: L.Trainer, monitor: str | None = None) -> str | None:
    """Path of the best checkpoint so far, or ``None`` when none was saved (e.g. fast_dev_run)."""
    callback = checkpoint_callback(trainer, monitor)
    return (callback.best_model_path or None) if callback else None


def last_checkpoint(run_dir: Path) -> str | None:
    """The run directory's ``checkpoints/last.ckpt``, if it has one."""
    path = last_checkpoint_path(run_dir)
    return str(path) if path.is_file() else None


def best_score(trainer: L.Trainer, monitor: str | None = None) -> float | None:
    callback = checkpoint_callback(trainer, monitor)
    if callback is None or callback.best_model_score is None:
        return None
    return float(callback.best_model_score)


@dataclass(frozen=True)
class TestedWeights:
    """Which weights the test stage evaluated (run.json's ``tested``, the summary's header).

    ``weights``: ``"best"`` (the best checkpoint by the monitored metric), ``"final"`` (the
    weights at the end of training, when there is no best checkpoint), ``"checkpoint"`` (the
    given ``ckpt_path``, with ``train=false``), or ``None`` when no test ran. ``reason`` says why
    for ``final`` and ``None``.
    """

    weights: Literal["best", "final", "checkpoint"] | None
    checkpoint: str | None = None
    reason: str | None = None

    def describe(self, monitor: str) -> str:
        """The weights in words, e.g. ``"the best checkpoint by val/loss"``."""
        if self.weights == "best":
            return f"the best checkpoint by {monitor}"
        if self.weights == "checkpoint":
            return f"the given checkpoint {self.checkpoint}"
        if self.weights == "final":
            return f"the final weights, as there is no best checkpoint: {self.reason}"
        return f"not run: {self.reason}"

    def as_record(self, monitor: str) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "checkpoint": self.checkpoint,
            "description": self.describe(monitor),
        }


def weights_to_test(
    config: Mapping[str, Any], trainer: L.Trainer, checkpoint: str | None
) -> TestedWeights:
    """What ``trainer.test`` should evaluate after fitting (``config['train']``) or not.

    After fitting: the best checkpoint by ``monitor.metric``, or the final weights, with the
    reason there is no best checkpoint. Without fitting: ``checkpoint`` (validation refuses
    ``train=false`` without ``ckpt_path``).
    """
    if not config["train"]:
        return TestedWeights("checkpoint", checkpoint)
    monitor = config["monitor"]["metric"]
    best = best_checkpoint(trainer, monitor)
    if best is not None:
        return TestedWeights("best", best)
    return TestedWeights("final", reason=no_best_checkpoint_reason(config, trainer))


def no_best_checkpoint_reason(config: Mapping[str, Any], trainer: L.Trainer) -> str:
    """Why a fit ended without a best checkpoint, naming the setting responsible."""
    settings = config.get("trainer") or {}
    monitor = config["monitor"]["metric"]
    if settings.get("enable_checkpointing") is False:
        return "checkpointing is off (trainer.enable_checkpointing=false)"
    if trainer.fast_dev_run:
        return "trainer.fast_dev_run saves no checkpoints"
    if checkpoint_callback(trainer, monitor) is None:
        return f"no checkpoint callback monitors {monitor} (see the callbacks group)"
    if monitor.startswith("val/"):
        if trainer.limit_val_batches == 0:
            return "no validation ran (trainer.limit_val_batches=0)"
        every = trainer.check_val_every_n_epoch
        if every is not None and every > trainer.current_epoch:
            return (
                f"no validation ran (trainer.check_val_every_n_epoch={every}, "
                f"{trainer.current_epoch} epoch(s) trained)"
            )
    return f"{monitor} was never logged while training"


def early_stop_messages(trainer: L.Trainer) -> list[str]:
    """One line per early-stopping callback that ended the fit: after which epoch, and Lightning's
    reason (patience exhausted, a threshold crossed, a non-finite metric)."""
    return [
        f"early stopping ended training after epoch {callback.stopped_epoch + 1}: "
        f"{' '.join(callback.stopping_reason_message.split())}"
        for callback in trainer.early_stopping_callbacks
        if callback.stopping_reason_message  # set only when it stopped the fit
    ]


def no_test_reason(config: Mapping[str, Any]) -> str:
    """Why a test stage that was asked for produced no metrics."""
    if (config.get("trainer") or {}).get("limit_test_batches") == 0:
        return "trainer.limit_test_batches=0 skips the test stage"
    return "the test data has no batches"


def trained_in_spawned_processes(trainer: L.Trainer) -> bool:
    """True under ``ddp_spawn`` (and other strategies that train in spawned processes)."""
    from lightning.pytorch.strategies.launchers.multiprocessing import _MultiProcessingLauncher

    return isinstance(getattr(trainer.strategy, "launcher", None), _MultiProcessingLauncher)


def adopt_spawned_training(trainer: L.Trainer, run_dir: Path) -> None:
    """After ``fit`` under ``ddp_spawn``: take the training's progress and best score from the
    run's ``last.ckpt``.

    Spawned processes train; Lightning hands the main process back the weights, the metrics and
    the best checkpoint's path, but neither the loops' progress (epochs, steps) nor the best
    score, which run.json and a sweep need. ``last.ckpt`` is written as each epoch ends, with
    every callback's state. Other strategies train in this process: nothing to do.
    """
    path = last_checkpoint_path(run_dir)
    if not trained_in_spawned_processes(trainer) or not path.is_file():
        return
    checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    trainer.fit_loop.load_state_dict(checkpoint["loops"]["fit_loop"])
    epochs = trainer.fit_loop.epoch_progress.current
    epochs.completed = epochs.processed  # saved as its epoch ended, before it counted as done
    callback = checkpoint_callback(trainer)
    state = checkpoint.get("callbacks", {}).get(callback.state_key) if callback else None
    if callback is not None and state and state.get("best_model_score") is not None:
        callback.best_model_score = state["best_model_score"]


def tensorboard_log_dir(trainer: L.Trainer) -> Path | None:
    """Directory of the run's TensorBoard events, or ``None`` when it logs elsewhere."""
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return Path(logger.log_dir)
    return None


def csv_metrics(trainer: L.Trainer) -> str | None:
    """The metrics.csv of a CSVLogger, if the run logs to one."""
    for logger in trainer.loggers:
        if isinstance(logger, CSVLogger):
            return str(Path(logger.log_dir) / "metrics.csv")
    return None


def run_hparams(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the HPARAMS tab shows for a run, from its run.json fields: the group choices first
    (model, task, data, ...), then every key the command line set (what a sweep varies), then
    the seed and tags; never ``_target_`` strings or keys nobody changed. A run sized by
    ``model.param_budget`` shows the width it got and its parameter count."""
    choices = record.get("choices") or {}
    params: dict[str, Any] = {
        group: choices[group]
        for group in (*HPARAM_GROUPS, "experiment")
        if choices.get(group) is not None
    }
    for override in record.get("overrides") or []:
        key, sep, value = override.lstrip("+").partition("=")
        if not sep or key.startswith(("~", "hydra.", "paths.")) or key in choices:
            continue
        params[key] = _hparam_value(value)
    sizing = record.get("param_budget")
    if sizing:  # the width the budget chose, not the configured one; the real count
        width = sizing["width"]
        params[f"model.{sizing['width_key']}"] = width if isinstance(width, int) else str(width)
        params["parameters"] = sizing["parameters"]
    config = record.get("config") or {}
    params["seed"] = config.get("seed")
    params["tags"] = ",".join(map(str, record.get("tags") or []))
    return params


def _hparam_value(text: str) -> Any:
    """An override's value as TensorBoard can show it: a number or bool when it is one."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, bool | int | float | str) else text


def log_hparams_with_metrics(
    trainer: L.Trainer,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    new_metrics: Mapping[str, float],
) -> None:
    """Write the run's hparams with its final metrics, so the HPARAMS tab compares runs.

    The HPARAMS tab reads each metric's value from the run's scalar of the same tag: ``metrics``
    are already logged as scalars, ``new_metrics`` (e.g. the best monitored value) are logged
    here, once, at the last step. Only the session summaries are written, no experiment summary:
    TensorBoard then builds the tab from every run's hparams and every scalar tag, so a sweep
    that mixes tasks shows each task's metrics (an experiment summary of one run would fix the
    columns to that run's).
    """
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            step = trainer.global_step
            logger.log_metrics(dict(new_metrics), step)
            writer = logger.experiment._get_file_writer()
            _, session_start, session_end = hparams(dict(params), {**metrics, **new_metrics})
            writer.add_summary(session_start, step)
            writer.add_summary(session_end, step)
            logger.finalize("success")


def final_report(
    cfg: DictConfig,
    trainer: L.Trainer,
    task: L.LightningModule,
    metrics: Mapping[str, float],
    throughput: TrainThroughput,
    tested: TestedWeights,
) -> dict[str, Any]:
    """The run.json fields a finished run adds, gathered from the Trainer (schema: record.py);
    per-horizon curves from a task that has them (its ``per_horizon`` attribute)."""
    tensorboard_dir = tensorboard_log_dir(trainer)
    monitor = cfg.monitor.metric
    processes = trainer.world_size  # DDP: each process trained on a share of the same size
    per_second = throughput.samples_per_second
    samples: int | None = throughput.samples * processes
    if trained_in_spawned_processes(trainer):  # counted there, not handed back: not measured
        samples = per_second = None
    return final_fields(
        metrics=dict(metrics),
        monitor={"metric": monitor, "mode": cfg.monitor.mode},
        best_value=best_score(trainer, monitor),
        tested=tested.as_record(monitor),
        parameters=sum(p.numel() for p in task.parameters() if p.requires_grad),
        epochs=trainer.current_epoch,
        steps=trainer.global_step,
        train_samples=samples,
        samples_per_s=per_second * processes if per_second is not None else None,
        best_checkpoint=best_checkpoint(trainer, monitor),
        last_checkpoint=last_checkpoint(Path(cfg.paths.output_dir)),
        tensorboard_dir=str(tensorboard_dir) if tensorboard_dir else None,
        per_horizon=dict(getattr(task, "per_horizon", None) or {}),
    )
