"""What a user sees in the terminal: the composed config as a tree, and the final summary."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table
from rich.tree import Tree

from rnnlab.config.groups import GROUP_NAMES as CONFIG_ORDER

console = Console()
log = logging.getLogger("rnnlab")


def _not_an_advert(record: logging.LogRecord) -> bool:
    message = record.getMessage()
    # adverts, and Lightning noting that callbacks/model_summary replaces its own summary
    return "Tip:" not in message and "already configured with model summary" not in message


def quiet_third_party_noise() -> None:
    """Silence messages that say nothing about the user's run (adverts, known deprecations)."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_not_an_advert)
    # rnnlab resumes runs in their own directory on purpose (and refuses to reuse one otherwise).
    warnings.filterwarnings(
        "ignore", message=r".*Checkpoint directory .* exists and is not empty.*"
    )
    # Lightning 2.6 vs torch 2.13: an internal deprecation, not actionable by users.
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # conf/hydra/launcher/submitit_*.yaml set the plugin's keys and are checked against the
    # plugin's schema of the same name, on purpose (typos in them are caught).
    warnings.filterwarnings(
        "ignore", message=r"\s*'hydra/launcher/submitit_\w+' is validated against ConfigStore"
    )
    # Generated batches come from the main process by design; Lightning's hint does not apply.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")


def print_config_tree(cfg: DictConfig) -> None:
    """Print the resolved config, one branch per config group, then the top-level keys."""
    tree = Tree("[bold]config[/bold]")
    groups = [k for k in CONFIG_ORDER if k in cfg] + [
        k for k in cfg if k not in CONFIG_ORDER and OmegaConf.is_dict(cfg[k])
    ]
    for group in groups:
        text = OmegaConf.to_yaml(cfg[group], resolve=True) if cfg[group] is not None else "null\n"
        tree.add(f"[bold cyan]{group}[/bold cyan]").add(Syntax(text.rstrip(), "yaml"))
    scalars = {k: cfg[k] for k in cfg if k not in groups}
    text = OmegaConf.to_yaml(OmegaConf.create(scalars), resolve=True) if scalars else ""
    tree.add("[bold cyan](top level)[/bold cyan]").add(Syntax(text.rstrip(), "yaml"))
    console.print(tree)


def metrics_table(title: str, metrics: Mapping[str, float]) -> Table:
    table = Table(title=title, title_justify="left", min_width=min(len(title), 100))
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name in sorted(metrics):
        table.add_row(name, f"{metrics[name]:.4f}")
    return table


def print_run_summary(
    metrics: Mapping[str, float],
    run_dir: Path,
    tensorboard_dir: str | None,
    tested: str,
    csv_file: str | None = None,
) -> None:
    """Final metrics, where the run lives, and how to open its logs (also into the run's log).

    ``tested``: which weights the test metrics come from, in words (the table's header says it).
    """
    console.print("[bold]final metrics[/bold]")
    validated = any(name.startswith("val/") for name in metrics)
    val = "the last validation" if validated else "none (no validation ran)"
    console.print(f"  val/*:  {val}", soft_wrap=True)
    console.print(f"  test/*: {tested}", soft_wrap=True, markup=False)
    console.print(metrics_table("", metrics))
    log.info("test/* metrics: %s", tested)
    console.print(f"run directory: {run_dir}", soft_wrap=True)
    if tensorboard_dir is not None:
        console.print(f"TensorBoard:   tensorboard --logdir {tensorboard_dir}", soft_wrap=True)
    if csv_file is not None:
        console.print(f"CSV metrics:   {csv_file}", soft_wrap=True)
    log.info("final metrics: %s", ", ".join(f"{k}={v:.6g}" for k, v in sorted(metrics.items())))
