"""Where rnnlab's Hydra configs live, and conversions between configs and primitives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# The config tree ships inside the package (the repository's top-level conf/ links to it), so an
# editable install, a wheel and a plain `pip install .` all find it.
CONFIG_DIR = Path(__file__).resolve().parents[1] / "conf"


def to_primitive(node: Any) -> Any:
    """A resolved config node as plain dicts/lists/scalars (safe for checkpoints and JSON)."""
    if isinstance(node, DictConfig) or OmegaConf.is_config(node):
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=True)
    return node
