"""``run.json``: one file per run directory that says what ran, how it went and how to repeat it.

Schema (``schema_version`` 1; comparison tools key on these names, bump the version on change):

- ``schema_version`` int; ``status`` "running" | "completed" | "failed" | "interrupted"
  (SIGTERM/SIGUSR1: a checkpoint was saved, resume it) | "pruned" (an Optuna search stopped it
  early; it has the metrics so far); ``failure`` str | null (the reason)
- ``started_at``, ``finished_at`` ISO 8601 UTC; ``wall_time_s`` float (all attempts together)
- ``attempts`` int (1 + times the run was resumed); ``resumed_from`` str | null
- ``run_dir``, ``tensorboard_dir`` str | null; ``command`` list[str] (argv of the run)
- ``overrides`` list[str] (Hydra overrides); ``choices`` {group: option}; ``tags`` list[str]
- ``rerun_of`` str (only for a run repeated from another run directory's saved config)
- ``config`` the resolved config
- ``metrics``: ``final`` {name: float} (last validation values and test values),
  ``best`` {``metric``: name, ``mode``: min|max, ``value``: float | null}, ``tested``: which
  weights the test metrics come from, {``weights``: "best" (the best checkpoint by the monitored
  metric) | "final" (the weights at the end of training: there is no best checkpoint) |
  "checkpoint" (the ``ckpt_path`` given with ``train=false``) | null (no test ran),
  ``checkpoint`` str | null, ``description`` str (in words, with the reason)},
  ``per_horizon`` {name: [float, ...]} (only for tasks that predict several steps ahead, e.g.
  ``{"test/mse_per_frame": [value 1, 2, ... frames ahead], ...}``: the test stage's curves
  first, then the last validation's)
- ``parameters`` int (trainable parameters); ``threads`` int (torch CPU threads of the run)
- ``param_budget`` (only for a run with ``model.param_budget``): ``budget`` int, ``width_key`` str
  (the core's width key, e.g. ``hidden_size``), ``width`` int | list[int] (the width chosen),
  ``parameters`` int (the trainable parameters at that width; ``config`` keeps the width as
  configured)
- ``progress``: ``epochs`` int, ``steps`` int (totals), ``train_samples`` int (this attempt,
  all DDP processes together; null under ``ddp_spawn``, which does not hand it back)
- ``throughput``: ``train_samples_per_s`` float | null (this attempt)
- ``checkpoints``: ``best``, ``last`` str | null
- ``versions``: python, torch, lightning, hydra, omegaconf, rnnlab
- ``git``: ``commit`` str | null, ``dirty`` bool | null (of the rnnlab source tree)
- ``host``: ``hostname``, ``platform``, ``cpus``, ``gpu`` (name or null)
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RUN_RECORD = "run.json"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def software_versions() -> dict[str, str | None]:
    return {
        "python": platform.python_version(),
        "torch": _version("torch"),
        "lightning": _version("lightning"),
        "hydra": _version("hydra-core"),
        "omegaconf": _version("omegaconf"),
        "rnnlab": _version("rnnlab"),
    }


SOURCE_DIR = Path(__file__).resolve().parent


def git_state(source: Path = SOURCE_DIR) -> dict[str, Any]:
    """Commit and dirty flag of the git tree holding rnnlab's source, or nulls outside git.

    Only a tree that tracks these files counts: an installed copy (a wheel, ``pip install .``)
    inside some other repository, e.g. a project's ``.venv``, has no git state of its own.
    """
    try:
        subprocess.run(  # fails unless this very file is tracked by the tree around it
            ["git", "-C", str(source), "ls-files", "--error-unmatch", Path(__file__).name],
            capture_output=True,
            timeout=10,
            check=True,
        )
        commit = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def host_info() -> dict[str, Any]:
    """Where the run ran. The GPU is named when the run has imported torch (this module never
    imports it, so a comparison tool or a sweeper can read and write records cheaply)."""
    torch = sys.modules.get("torch")
    gpu = torch.cuda.get_device_name(0) if torch and torch.cuda.is_available() else None
    return {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "gpu": gpu,
    }


class RunRecord:
    """The run.json of a run directory; :meth:`update` merges fields, rewrites it atomically.

    ``write=False`` keeps the fields in memory only: the other processes of a multi-process
    (DDP) run, where rank 0 alone writes the record.
    """

    def __init__(self, run_dir: Path, write: bool = True) -> None:
        self.path = Path(run_dir) / RUN_RECORD
        self.write = write
        self.data: dict[str, Any] = {}
        self._clock = time.perf_counter()
        self._earlier_seconds = 0.0

    @classmethod
    def start(
        cls,
        run_dir: Path,
        previous: dict[str, Any] | None = None,
        write: bool = True,
        **fields: Any,
    ) -> RunRecord:
        """Write run.json with status running; ``previous``: the record of a run being resumed."""
        record = cls(run_dir, write=write)
        record.data = dict(previous or {})
        record._earlier_seconds = float(record.data.get("wall_time_s") or 0.0)
        record.update(
            schema_version=SCHEMA_VERSION,
            status="running",
            failure=None,
            started_at=record.data.get("started_at") or _now(),
            finished_at=None,
            attempts=int(record.data.get("attempts") or 0) + 1,
            run_dir=str(Path(run_dir).resolve()),
            command=sys.argv,
            versions=software_versions(),
            git=git_state(),
            host=host_info(),
            **fields,
        )
        return record

    def update(self, **fields: Any) -> None:
        self.data.update(fields)
        if not self.write:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        temporary.replace(self.path)

    def finish(self, status: str, failure: str | None = None, **fields: Any) -> None:
        self.update(
            status=status,
            failure=failure,
            finished_at=_now(),
            wall_time_s=round(self._earlier_seconds + time.perf_counter() - self._clock, 3),
            **fields,
        )


def config_fields(
    config: dict[str, Any],
    overrides: list[str],
    choices: dict[str, Any],
    rerun_of: str | None = None,
) -> dict[str, Any]:
    """The run.json fields that say what a run's config was."""
    fields = {
        "config": config,
        "overrides": list(overrides),
        "choices": dict(choices),
        "tags": list(config.get("tags") or []),
    }
    if rerun_of is not None:
        fields["rerun_of"] = rerun_of
    return fields


def final_fields(
    *,
    metrics: dict[str, float],
    monitor: dict[str, str],
    best_value: float | None,
    tested: dict[str, Any],
    parameters: int,
    epochs: int,
    steps: int,
    train_samples: int,
    samples_per_s: float | None,
    best_checkpoint: str | None,
    last_checkpoint: str | None,
    tensorboard_dir: str | None,
    per_horizon: dict[str, list[float]] | None = None,
) -> dict[str, Any]:
    """The run.json fields a finished run adds. ``tested``: which weights the test stage used;
    ``per_horizon``: metric name -> its value at 1, 2, ... steps ahead (left out when empty)."""
    recorded: dict[str, Any] = {
        "final": dict(metrics),
        "best": {"metric": monitor["metric"], "mode": monitor["mode"], "value": best_value},
        "tested": tested,
    }
    if per_horizon:
        recorded["per_horizon"] = {
            name: [float(v) for v in curve] for name, curve in per_horizon.items()
        }
    return {
        "metrics": recorded,
        "parameters": parameters,
        "progress": {"epochs": epochs, "steps": steps, "train_samples": train_samples},
        "throughput": {"train_samples_per_s": samples_per_s},
        "checkpoints": {"best": best_checkpoint, "last": last_checkpoint},
        "tensorboard_dir": tensorboard_dir,
    }


def read_run_record(run_dir: Path) -> dict[str, Any] | None:
    """The run.json of ``run_dir``, or ``None`` when it has none."""
    path = Path(run_dir) / RUN_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def record_failure(run_dir: Path, error: BaseException, **fields: Any) -> None:
    """Write a failed run.json for a run that stopped before writing one (e.g. a bad config
    value); a run directory that has a run.json already keeps it as it is."""
    if not (Path(run_dir) / RUN_RECORD).exists():
        record = RunRecord.start(run_dir, **fields)
        record.finish("failed", failure=f"{type(error).__name__}: {error}")
