"""Compose, validate and build: rnnlab's configs and the one builder of components from them."""

from rnnlab.config.builder import build_from_config, check_config_keys, import_target
from rnnlab.config.compose import CONFIG_DIR, to_primitive
from rnnlab.config.groups import GROUP_NAMES, GROUPS

__all__ = [
    "CONFIG_DIR",
    "GROUPS",
    "GROUP_NAMES",
    "build_from_config",
    "check_config_keys",
    "import_target",
    "to_primitive",
]
