"""``rnnlab-eval ckpt_path=<checkpoint>``: test a trained checkpoint on the test split of any data.

Without ``data=<name>`` it evaluates on the data the checkpoint was trained on (stored in the
checkpoint), with any ``data.key=value`` overrides applied; ``data=<name>`` picks any configured
data source. Metrics are those of training's test stage, printed and written to
``test_metrics.json`` in the eval run directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from rnnlab.cli.app import run_app
from rnnlab.cli.console import console, metrics_table, quiet_third_party_noise
from rnnlab.config import CONFIG_DIR, import_target, to_primitive
from rnnlab.config.validate import validate_config
from rnnlab.errors import ConfigError, DataError

# data.* overrides meant for the checkpoint's own data config (set by main()).
_DATA_OVERRIDES: list[str] = []


def split_data_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """``(arguments for Hydra, data.* overrides for the checkpoint's data)``.

    When no ``data=`` is given, Hydra has no data config to override, so ``data.key=value``
    arguments are held back and applied to the data config stored in the checkpoint.
    """
    if any(arg.lstrip("+").startswith("data=") for arg in argv):
        return argv, []
    held = [arg for arg in argv if arg.lstrip("+").startswith("data.")]
    return [arg for arg in argv if arg not in held], [arg.lstrip("+") for arg in held]


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint with torch's safe ``weights_only=True`` loader."""
    import torch  # here, not at the top: `rnnlab-eval --help` and config errors need no torch

    if not path.is_file():
        raise DataError(
            f"ckpt_path={str(path)!r} does not exist. Pass a checkpoint written by rnnlab-train, "
            "e.g. ckpt_path=outputs/runs/<date>/<time>/checkpoints/best.ckpt."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise DataError(
            f"ckpt_path={str(path)!r} cannot be read as a checkpoint ({type(error).__name__}: "
            f"{str(error).splitlines()[0]}). Pass a .ckpt file written by rnnlab-train."
        ) from None
    if "rnnlab" not in checkpoint:
        raise DataError(
            f"ckpt_path={str(path)!r} was not written by rnnlab-train (it has no 'rnnlab' entry "
            "with the task and config). Pass a checkpoint from an rnnlab run directory."
        )
    return checkpoint


def with_trained_precision(config: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """``config`` whose ``trainer.precision`` is the trained run's when not given here (a model
    trained in ``bf16-mixed`` is tested in it, as the run's own test stage was); an explicit
    ``++trainer.precision=...`` wins."""
    precision = (trained.get("trainer") or {}).get("precision")
    trainer = config.get("trainer") or {}
    if precision is None or "precision" in trainer:
        return config
    return {**config, "trainer": {**trainer, "precision": precision}}


def evaluate(cfg: DictConfig, data_overrides: list[str]) -> dict[str, float]:
    """Test the checkpoint ``cfg.ckpt_path``; return the test metrics."""
    from rnnlab.cli.assemble import build_datamodule
    from rnnlab.data.spec import data_spec
    from rnnlab.run.callbacks import end_process_group
    from rnnlab.run.results import scalar_metrics
    from rnnlab.run.trainer import build_trainer

    path = Path(cfg.ckpt_path)
    checkpoint = load_checkpoint(path)
    info = checkpoint["rnnlab"]
    if cfg.get("data") is None:
        data_cfg = OmegaConf.merge(
            {"data": info["config"]["data"]}, OmegaConf.from_dotlist(data_overrides)
        ).data
    else:
        data_cfg = cfg.data
    # the same rules as training, before anything is built
    validate_config({**to_primitive(cfg), "data": to_primitive(data_cfg), "train": False})

    task_class = import_target(info["task_class"], "checkpoint task")
    task = task_class(**checkpoint["hyper_parameters"])
    task.load_state_dict(checkpoint["state_dict"])
    datamodule = build_datamodule(data_cfg)
    task.check_data(data_spec(datamodule, "test", num_classes=task.spec.num_classes))

    trainer = build_trainer(with_trained_precision(to_primitive(cfg), info["config"]))
    results = trainer.test(task, datamodule=datamodule, verbose=False)
    end_process_group()  # trainer=ddp (ddp_spawn's processes end their own)
    if not results or not results[0]:
        raise ConfigError(
            "The test stage ran no batch, so there are no metrics to report. Check "
            "trainer.limit_test_batches (0 turns testing off) and the data's test split."
        )
    metrics = scalar_metrics(results[0])

    run_dir = Path(cfg.paths.output_dir)
    report = {"checkpoint": str(path.resolve()), "data": to_primitive(data_cfg), "metrics": metrics}
    per_horizon = getattr(task, "per_horizon", None)  # next-frame tasks: each metric by horizon
    if per_horizon:
        report["per_horizon"] = per_horizon
    (run_dir / "test_metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"checkpoint: {path}", soft_wrap=True)
    console.print(metrics_table("test metrics", metrics))
    console.print(f"written to {run_dir / 'test_metrics.json'}", soft_wrap=True)
    return metrics


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def _hydra_main(cfg: DictConfig) -> None:
    evaluate(cfg, _DATA_OVERRIDES)


def main() -> None:
    """Console script ``rnnlab-eval``."""
    quiet_third_party_noise()
    sys.argv[1:], held = split_data_overrides(sys.argv[1:])
    _DATA_OVERRIDES[:] = held
    run_app(_hydra_main, "eval")


if __name__ == "__main__":
    main()
