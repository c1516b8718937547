"""Repeat or continue a run from the config saved in its run directory.

    rnnlab-rerun RUN_DIR [overrides]    # the same config again, in a new run directory
    rnnlab-resume RUN_DIR [overrides]   # continue RUN_DIR from its last checkpoint (resume=true)

Both read RUN_DIR/.hydra/config.yaml (the composed config Hydra saved), so they repeat the run
exactly even if conf/ changed since. They are shorthands for
    rnnlab-train --config-path RUN_DIR/.hydra --config-name config [hydra.run.dir=...] ...
"""

from __future__ import annotations

import sys
from pathlib import Path

from rnnlab.cli.console import quiet_third_party_noise
from rnnlab.errors import DataError, exit_with

# What conf/hydra/default.yaml sets, which a saved config.yaml (no defaults list) does not have.
NEW_RUN_DIR = "hydra.run.dir='${paths.output_root}/runs/${now:%Y-%m-%d}/${now:%H-%M-%S}'"
LOG_TO_FILE = "hydra.job_logging.root.handlers=[file]"


def saved_config_dir(run_dir: str) -> Path:
    path = Path(run_dir) / ".hydra"
    if not (path / "config.yaml").is_file():
        exit_with(
            DataError(
                f"{run_dir} is not an rnnlab run directory: {path / 'config.yaml'} does not exist. "
                "Pass the folder that holds run.json and .hydra/, e.g. outputs/runs/<date>/<time>."
            )
        )
    return path.resolve()


def _run_train(run_dir: str, extra: list[str]) -> None:
    from rnnlab.cli.train import main as train_main

    config_dir = saved_config_dir(run_dir)
    sys.argv = [sys.argv[0], "--config-path", str(config_dir), "--config-name", "config", *extra]
    train_main()


def _usage() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print(__doc__)
        raise SystemExit(0 if len(sys.argv) >= 2 else 2)


def rerun_main() -> None:
    """Console script ``rnnlab-rerun RUN_DIR [overrides]``."""
    quiet_third_party_noise()
    _usage()
    run_dir, *overrides = sys.argv[1:]
    _run_train(run_dir, [NEW_RUN_DIR, LOG_TO_FILE, "resume=false", "ckpt_path=null", *overrides])


def resume_main() -> None:
    """Console script ``rnnlab-resume RUN_DIR [overrides]``."""
    quiet_third_party_noise()
    _usage()
    run_dir, *overrides = sys.argv[1:]
    _run_train(
        run_dir,
        [f"hydra.run.dir={Path(run_dir).resolve()}", LOG_TO_FILE, "resume=true", *overrides],
    )
