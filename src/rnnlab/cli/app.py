"""Run a Hydra app so that every mistake a user can fix ends in one paragraph, not a traceback.

Hydra reports composition errors (an unknown choice, an unknown key) in its own multi-line format
and job errors with a trimmed traceback. :func:`run_app` asks Hydra to re-raise instead
(``HYDRA_FULL_ERROR=1``) and turns what it gets into :class:`~rnnlab.errors.ConfigError` messages
that name the key, the bad value and what is allowed. Errors that are bugs keep their traceback.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, MissingMandatoryValue, OmegaConf

from rnnlab.config import CONFIG_DIR
from rnnlab.errors import ConfigError, RnnlabError, exit_with, report


def _missing_config_error(error: MissingConfigException) -> ConfigError:
    missing = error.missing_cfg_file or ""
    group, _, choice = missing.rpartition("/")
    options = sorted(error.options or [])
    if group and options:
        return ConfigError(
            f"{group}={choice} is not a choice of config group '{group}'. "
            f"Valid choices: {', '.join(options)}."
        )
    first_line = str(error).strip().splitlines()[0]
    return ConfigError(f"{first_line}. Check the config name and --config-path/--config-dir.")


def _dotted_keys(node: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{prefix}{key}"
            yield from _dotted_keys(value, f"{prefix}{key}.")


def _closest_keys(config_name: str, bad_key: str) -> list[str]:
    """Keys of the config (composed with the command line's group choices) that look like
    ``bad_key``: the same last part elsewhere, or a close spelling. Best effort: [] on failure."""
    from hydra import compose, initialize_config_dir

    choices = [  # group=option arguments (a sweep's first option)
        f"{group}={option.split(',')[0]}"
        for group, _, option in (arg.partition("=") for arg in sys.argv[1:])
        if option and (CONFIG_DIR / group).is_dir()
    ]
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg: DictConfig = compose(config_name, overrides=choices)
        keys = list(_dotted_keys(OmegaConf.to_container(cfg, resolve=False)))
    except Exception:  # a suggestion is a courtesy: never fail the real error over it
        return []
    parent, _, last = bad_key.rpartition(".")
    siblings = [k.rpartition(".")[2] for k in keys if k.rpartition(".")[0] == parent]
    if close := difflib.get_close_matches(last, siblings, n=1):
        return [f"{parent}.{close[0]}" if parent else close[0]]
    same_name = [k for k in keys if k.rpartition(".")[2] == last and k != bad_key]
    return same_name or difflib.get_close_matches(bad_key, keys, n=1)


def _composition_error(error: ConfigCompositionException, config_name: str) -> ConfigError:
    text = str(error)
    cause = str(error.__cause__ or "")
    match = re.search(r"Could not override '([^']+)'", text)
    if match and "not in struct" in cause:
        key = match.group(1)
        close = _closest_keys(config_name, key)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        return ConfigError(
            f"{key} is not a key of the composed config.{hint} (`rnnlab-train --cfg job` prints "
            f"every key.) To add a new key on purpose, write +{key}=<value> (for a Lightning "
            f"Trainer argument: ++{key}=<value>)."
        )
    message = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if cause:
        message += " (" + " ".join(line.strip() for line in cause.splitlines()[:1]) + ")"
    return ConfigError(message)


def null_choices_as_deletions(args: list[str]) -> list[str]:
    """``group=null`` (e.g. ``logger=null``) as Hydra's ``~group``: Hydra 1.3 crashes on a null
    group choice given on the command line, but deletes a group's default with ``~group``."""
    return [
        f"~{arg.partition('=')[0]}"
        if arg.endswith("=null") and (CONFIG_DIR / arg.partition("=")[0]).is_dir()
        else arg
        for arg in args
    ]


COMPOSITION_ERRORS = (
    MissingMandatoryValue,
    MissingConfigException,
    OverrideParseException,
    ConfigCompositionException,
)


def composition_error(error: Exception, config_name: str) -> ConfigError:
    """The one paragraph for an error composing ``config_name`` with the command line's
    overrides (one of :data:`COMPOSITION_ERRORS`)."""
    if isinstance(error, MissingMandatoryValue):
        key = error.full_key or "a key"
        return ConfigError(f"{key} is required but has no value. Give it: {key}=<value>.")
    if isinstance(error, MissingConfigException):
        return _missing_config_error(error)
    if isinstance(error, OverrideParseException):
        return ConfigError(
            f"The override {error.override!r} cannot be parsed ({str(error).splitlines()[0]}). "
            "Overrides look like group=choice, key=value, or key=a,b,c for a sweep (with -m)."
        )
    assert isinstance(error, ConfigCompositionException)
    return _composition_error(error, config_name)


def share_config_store() -> None:
    """Let copies of Hydra's config repository share the one ``ConfigStore`` instead of
    deep-copying it.

    Hydra 1.3.8 deep-copies its config repository, and with it the ``ConfigStore`` singleton
    (every registered schema: Hydra's own, the launchers', the sweeper's), each time it lists a
    group's options or composes a config: 131 times for ``--help`` (~0.7 s of its ~1.1 s of CPU
    here), twice for a run, once per job of a sweep. Nothing is lost by sharing it: the store
    hands out a deep copy of a config on every ``load``, and the repository copy exists only so
    that its config *sources* may change. Upstream Hydra stopped copying the store the same way
    (facebookresearch/hydra#2928: the source looks the singleton up instead of holding it).
    """
    from hydra.core.config_store import ConfigStore

    ConfigStore.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]


def run_app(hydra_main: Callable[[], object], config_name: str) -> None:
    """Call a ``@hydra.main`` function; exit 2 with one paragraph for any user-fixable error."""
    os.environ["HYDRA_FULL_ERROR"] = "1"
    share_config_store()
    sys.argv[1:] = null_choices_as_deletions(sys.argv[1:])
    try:
        hydra_main()
    except RnnlabError as error:
        if getattr(error, "reported", False):  # a sweep's run failed and said why back then
            summary = ConfigError(
                "at least one run of the sweep failed; its reason is printed above where it "
                "happened, and each run's run.json records its status and failure."
            )
            report(summary, log=False)  # after the sweep: no run's log to keep it
            exit_with(summary)
        exit_with(error)
    except COMPOSITION_ERRORS as error:
        exit_with(composition_error(error, config_name))
    except OSError as error:
        if error.filename is None:
            raise
        exit_with(
            RnnlabError(
                f"{error.strerror}: {error.filename}. If this is the run's output folder, point "
                "the run at a writable folder with free space: hydra.run.dir=<dir> (one run), "
                "hydra.sweep.dir=<dir> (with -m), or paths.output_root=<dir>."
            )
        )
