"""``rnnlab-train``: compose data x model x task, fit, test, record; returns the monitored metric.

rnnlab-train model=gru task=classify          # one run
rnnlab-train -m model=rnn,gru,lstm seed=1,2   # a sweep (Hydra multirun)
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from rnnlab.config import CONFIG_DIR, to_primitive
from rnnlab.console import print_config_tree, print_run_summary, quiet_third_party_noise
from rnnlab.errors import user_errors_exit


def train(cfg: DictConfig) -> float | None:
    """Run one experiment described by ``cfg``; return the best value of ``cfg.monitor.metric``."""
    # torch and Lightning take ~4 s to import: only once the config has been read.
    import lightning as L

    from rnnlab.build import build_datamodule, build_task, build_trainer
    from rnnlab.callbacks import RunConfigInCheckpoint, TrainThroughput
    from rnnlab.record import RunRecord
    from rnnlab.results import (
        best_checkpoint,
        best_score,
        last_checkpoint,
        log_hparams_with_metrics,
        scalar_metrics,
        tensorboard_log_dir,
    )

    run_dir = Path(cfg.paths.output_dir)
    print_config_tree(cfg)
    hydra_cfg = HydraConfig.get()
    choices = dict(hydra_cfg.runtime.choices)
    record = RunRecord.start(
        run_dir,
        config=to_primitive(cfg),
        overrides=list(hydra_cfg.overrides.task),
        choices=choices,
        tags=list(cfg.tags),
    )
    try:
        L.seed_everything(cfg.seed, workers=True, verbose=False)
        # 1. data, 2. task around the core, 3. trainer with logger and callbacks
        datamodule = build_datamodule(cfg.data)
        task = build_task(cfg, datamodule.spec)
        throughput = TrainThroughput()
        in_checkpoint = RunConfigInCheckpoint(record.data["config"], choices)
        trainer = build_trainer(cfg, [throughput, in_checkpoint])
        # 4. fit, then test the best checkpoint
        metrics: dict[str, float] = {}
        if cfg.train:
            trainer.fit(task, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
            metrics.update(scalar_metrics(trainer.callback_metrics))
        if cfg.test:
            results = trainer.test(
                task, datamodule=datamodule, ckpt_path=best_checkpoint(trainer), verbose=False
            )
            metrics.update(scalar_metrics(results[0]))
    except BaseException as error:
        record.finish("failed", failure=f"{type(error).__name__}: {error}")
        raise
    # 5. report: TensorBoard hparams with final metrics, run.json, console summary
    best = best_score(trainer)
    best_metric = {f"{cfg.monitor.metric}_best": best} if best is not None else {}
    log_hparams_with_metrics(trainer, cfg, metrics, best_metric)
    metrics.update(best_metric)
    tensorboard_dir = tensorboard_log_dir(trainer)
    record.finish(
        "completed",
        metrics={
            "final": metrics,
            "best": {"metric": cfg.monitor.metric, "mode": cfg.monitor.mode, "value": best},
        },
        parameters=sum(p.numel() for p in task.parameters() if p.requires_grad),
        progress={
            "epochs": trainer.current_epoch,
            "steps": trainer.global_step,
            "train_samples": throughput.samples,
        },
        throughput={"train_samples_per_s": throughput.samples_per_second},
        checkpoints={"best": best_checkpoint(trainer), "last": last_checkpoint(trainer)},
        tensorboard_dir=str(tensorboard_dir) if tensorboard_dir else None,
    )
    print_run_summary(metrics, run_dir, tensorboard_dir)
    return best if best is not None else metrics.get(cfg.monitor.metric)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def _hydra_main(cfg: DictConfig) -> float | None:
    with user_errors_exit():
        return train(cfg)


def main() -> None:
    """Console script ``rnnlab-train``."""
    quiet_third_party_noise()
    _hydra_main()


if __name__ == "__main__":
    main()
