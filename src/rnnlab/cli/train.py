"""``rnnlab-train``: compose data x model x task, fit, test, record; returns the monitored metric.

rnnlab-train model=gru task=classify          # one run
rnnlab-train -m model=rnn,gru,lstm seed=1,2   # a sweep (Hydra multirun)
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from rnnlab.cli.app import run_app
from rnnlab.cli.console import (
    console,
    print_config_tree,
    print_run_summary,
    quiet_third_party_noise,
)
from rnnlab.cli.extras import apply_extras
from rnnlab.config import CONFIG_DIR, to_primitive
from rnnlab.config.validate import validate_config
from rnnlab.errors import RnnlabError, report
from rnnlab.run.record import RunRecord, config_fields, read_run_record, record_failure

if TYPE_CHECKING:
    import lightning as L

    from rnnlab.run.results import TestedWeights


def train(cfg: DictConfig) -> float | None:
    """Run one experiment described by ``cfg``; return the best value of ``cfg.monitor.metric``."""
    config = to_primitive(cfg)
    validate_config(config)
    extras = apply_extras(config)
    # torch and Lightning take ~4 s to import: only once the config is known to be sound.
    import lightning as L
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from rnnlab.cli.assemble import build_datamodule, build_task, size_model
    from rnnlab.data.spec import data_spec
    from rnnlab.run.callbacks import Interrupted, SaveOnSignal, run_callbacks
    from rnnlab.run.cluster import (
        check_multirun_strategy,
        hand_over_signal,
        launcher_handlers,
        process_rank,
        requeue_marker,
    )
    from rnnlab.run.directory import check_free_space, plan_resume, resume_step
    from rnnlab.run.pruning import TrialPruned, pruning_callbacks
    from rnnlab.run.results import (
        best_score,
        csv_metrics,
        final_report,
        log_hparams_with_metrics,
        run_hparams,
    )
    from rnnlab.run.threads import limit_threads
    from rnnlab.run.trainer import build_trainer, checkpointing_enabled

    threads = limit_threads(cfg.get("threads"), HydraConfig.get())  # before any torch work
    # a launcher's signal handlers (submitit requeues on SIGUSR1), before the run replaces them
    handlers = launcher_handlers(SaveOnSignal.SIGNALS)

    run_dir = Path(cfg.paths.output_dir)
    rank = process_rank()  # > 0: another process of a DDP run; rank 0 keeps the records
    requeued = requeue_marker()
    plan = plan_resume(run_dir, config, requeued=requeued, follower=rank > 0)
    if plan.completed is not None:
        console.print(f"resume=true: {run_dir} holds a completed run; skipping it.", soft_wrap=True)
        return plan.completed["metrics"]["best"]["value"]
    if rank == 0 and requeued:
        resumed = f"continuing from {plan.checkpoint}" if plan.checkpoint else "starting anew"
        console.print(f"requeued job ({requeued}): {resumed} in {run_dir}", soft_wrap=True)
    if rank == 0 and extras.print_config:
        print_config_tree(cfg)
    record = RunRecord.start(
        run_dir,
        previous=plan.previous,
        resumed_from=plan.checkpoint,
        threads=threads,
        write=rank == 0,
        **run_fields(cfg),
    )
    try:
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        # 1. data, 2. task around the core, 3. trainer with logger and callbacks
        datamodule = build_datamodule(cfg.data)
        spec = data_spec(datamodule)
        model, sizing = size_model(cfg, spec)  # model.param_budget -> the width
        if sizing is not None:
            record.update(param_budget=sizing.as_dict())
            console.print(sizing.describe(), soft_wrap=True)
        task = build_task(cfg, spec, model)
        check_free_space(run_dir, sum(p.numel() for p in task.parameters()))
        callbacks = run_callbacks(run_dir, record.data, checkpointing_enabled(config))
        extra = [*callbacks.all, *pruning_callbacks(cfg.monitor.metric)]  # [] outside a search
        trainer = build_trainer(
            cfg, extra, purge_step=resume_step(plan, run_dir), run_label=sweep_label()
        )
        check_multirun_strategy(trainer, HydraConfig.get().mode == RunMode.MULTIRUN)
        # 4. fit (or continue), then test the best checkpoint (else the final weights)
        metrics, tested = fit_and_test(cfg, trainer, task, datamodule, plan.checkpoint)
    except (Interrupted, SIGTERMException) as interrupted:
        signum = getattr(interrupted, "signum", signal.SIGTERM)
        # Lightning's SIGTERMException (empty) comes only before rnnlab's handler takes over
        reason = str(interrupted) or (
            "received SIGTERM while the run was setting up (before the first training batch); "
            "no new checkpoint. Continue the run with rnnlab-resume <run dir>."
        )
        progress = getattr(interrupted, "progress", None)
        record.finish("interrupted", failure=reason, **({"progress": progress} if progress else {}))
        if rank == 0:
            console.print(f"rnnlab: {reason}")
        hand_over_signal(signum, handlers)  # under submitit: requeue the job (and exit)
        raise SystemExit(128 + signum) from None
    except TrialPruned as pruned:  # an Optuna search stopped this trial: the sweeper records it
        from rnnlab.run.results import TestedWeights, scalar_metrics

        metrics = scalar_metrics(trainer.callback_metrics)
        untested = TestedWeights(None, reason="the trial was pruned")
        fields = final_report(cfg, trainer, task, metrics, callbacks.throughput, untested)
        record.finish("pruned", failure=f"pruned by the Optuna search: {pruned}", **fields)
        console.print(f"rnnlab: trial pruned ({pruned}); run dir {run_dir}", soft_wrap=True)
        raise
    except BaseException as error:
        record.finish("failed", failure=f"{type(error).__name__}: {error}")
        raise
    # 5. report: TensorBoard hparams with final metrics, run.json, console summary
    best = best_score(trainer, cfg.monitor.metric)
    best_metric = {f"{cfg.monitor.metric}_best": best} if best is not None else {}
    if rank == 0:
        log_hparams_with_metrics(trainer, run_hparams(record.data), metrics, best_metric)
    metrics.update(best_metric)
    report = final_report(cfg, trainer, task, metrics, callbacks.throughput, tested)
    record.finish("completed", **report)
    if rank == 0:
        print_run_summary(
            metrics,
            run_dir,
            record.data["tensorboard_dir"],
            tested.describe(cfg.monitor.metric),
            csv_metrics(trainer),
        )
    return best if best is not None else metrics.get(cfg.monitor.metric)


def run_fields(cfg: DictConfig) -> dict[str, Any]:
    """What run.json says about the run's config: resolved config, overrides, group choices.

    A run repeated from a run directory's saved config (``rnnlab-rerun``/``rnnlab-resume``, or
    ``--config-path <run>/.hydra --config-name config``) has no group choices of its own: it
    keeps those of the run it repeats, and its overrides follow that run's.
    """
    hydra_cfg = HydraConfig.get()
    overrides, choices = list(hydra_cfg.overrides.task), dict(hydra_cfg.runtime.choices)
    rerun_of = None
    source = repeated_run(hydra_cfg)
    original = read_run_record(source) if source else None
    if original and original.get("choices"):
        choices = original["choices"]
        overrides = [*original.get("overrides", []), *overrides]
        if source.resolve() != Path(cfg.paths.output_dir).resolve():
            rerun_of = str(source.resolve())
    return config_fields(to_primitive(cfg), overrides, choices, rerun_of)


def sweep_label() -> str | None:
    """In a sweep, this run's values of the keys the sweep varies (``model=gru,seed=2``), which
    names its TensorBoard run; ``None`` for a single run.

    The varied keys are the sweep overrides of the command line and the sweeper's ``params``,
    read from the sweep's ``multirun.yaml`` (so launchers that run jobs elsewhere agree).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    hydra_cfg = HydraConfig.get()
    if hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    sweep_file = Path(hydra_cfg.sweep.dir) / "multirun.yaml"
    if not sweep_file.is_file():
        return None
    sweep = OmegaConf.load(sweep_file).hydra
    parsed = OverridesParser.create().parse_overrides(list(sweep.overrides.task))
    varied = [o.get_key_element() for o in parsed if o.is_sweep_override()]
    varied += [str(key) for key in (sweep.sweeper.get("params") or {})]
    values = dict(o.partition("=")[::2] for o in hydra_cfg.overrides.task)
    label = ",".join(f"{key}={values[key]}" for key in varied if key in values)
    return label.replace("/", "_") or None


def repeated_run(hydra_cfg: DictConfig) -> Path | None:
    """The run directory whose saved ``.hydra/config.yaml`` is this run's primary config."""
    for source in hydra_cfg.runtime.config_sources:
        folder = Path(str(source.path))
        if source.provider == "main" and source.schema == "file" and folder.name == ".hydra":
            return folder.parent
    return None


def fit_and_test(
    cfg: DictConfig,
    trainer: L.Trainer,
    task: L.LightningModule,
    datamodule: L.LightningDataModule,
    checkpoint: str | None,
) -> tuple[dict[str, float], TestedWeights]:
    """Fit (from ``checkpoint`` if given), then test the best checkpoint (or, without one, the
    final weights; without fitting, ``checkpoint``): the final metrics and what was tested."""
    from rnnlab.run.callbacks import end_process_group
    from rnnlab.run.results import (
        TestedWeights,
        adopt_spawned_training,
        early_stop_messages,
        no_test_reason,
        scalar_metrics,
        weights_to_test,
    )
    from rnnlab.run.trainer import trainer_settings_refused

    config = to_primitive(cfg)
    metrics: dict[str, float] = {}
    tested = TestedWeights(None, reason="test=false")
    with trainer_settings_refused(config):
        if cfg.train:
            trainer.fit(task, datamodule=datamodule, ckpt_path=checkpoint)
            adopt_spawned_training(trainer, Path(cfg.paths.output_dir))  # ddp_spawn
            for line in early_stop_messages(trainer):
                console.print(line, soft_wrap=True, markup=False)
            metrics.update(scalar_metrics(trainer.callback_metrics))
        if cfg.test:
            tested = weights_to_test(config, trainer, checkpoint)
            results = trainer.test(
                task, datamodule=datamodule, ckpt_path=tested.checkpoint, verbose=False
            )
            if results:
                metrics.update(scalar_metrics(results[0]))
            else:
                tested = TestedWeights(None, reason=no_test_reason(config))
    end_process_group()  # trainer=ddp: both stages done (ddp_spawn's processes end their own)
    return metrics, tested


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    try:
        return train(cfg)
    except RnnlabError as error:
        record_failure(Path(cfg.paths.output_dir), error, **run_fields(cfg))
        report(error)  # now, so each failed run of a sweep says why as it happens
        if HydraConfig.get().mode == RunMode.RUN:
            raise SystemExit(2) from None
        raise  # a sweep records it and goes on with its other runs


def main() -> None:
    """Console script ``rnnlab-train``."""
    quiet_third_party_noise()
    run_app(_hydra_main, "train")


if __name__ == "__main__":
    # `python -m rnnlab.cli.train`: run the importable module's main, so that launchers which
    # pickle the task function (joblib, submitit) send a reference to it, not __main__'s globals.
    from rnnlab.cli.train import main as importable_main

    importable_main()
