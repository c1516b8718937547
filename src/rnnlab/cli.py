"""Run a Hydra app so that every mistake a user can fix ends in one paragraph, not a traceback.

Hydra reports composition errors (an unknown choice, an unknown key) in its own multi-line format
and job errors with a trimmed traceback. :func:`run_app` asks Hydra to re-raise instead
(``HYDRA_FULL_ERROR=1``) and turns what it gets into :class:`~rnnlab.errors.ConfigError` messages
that name the key, the bad value and what is allowed. Errors that are bugs keep their traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable

from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

from rnnlab.errors import ConfigError, RnnlabError, exit_with


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


def _composition_error(error: ConfigCompositionException) -> ConfigError:
    text = str(error)
    cause = str(error.__cause__ or "")
    match = re.search(r"Could not override '([^']+)'", text)
    if match and "not in struct" in cause:
        key = match.group(1)
        return ConfigError(
            f"{key} is not a key of the composed config (check its spelling; `rnnlab-train "
            f"--cfg job` prints every key). To add a new key on purpose, write +{key}=<value> "
            f"(Lightning Trainer arguments: ++{key}=<value>)."
        )
    message = " ".join(line.strip() for line in text.splitlines() if line.strip())
    if cause:
        message += " (" + " ".join(line.strip() for line in cause.splitlines()[:1]) + ")"
    return ConfigError(message)


def run_app(hydra_main: Callable[[], object]) -> None:
    """Call a ``@hydra.main`` function; exit 2 with one paragraph for any user-fixable error."""
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        hydra_main()
    except RnnlabError as error:
        exit_with(error)
    except MissingConfigException as error:
        exit_with(_missing_config_error(error))
    except OverrideParseException as error:
        exit_with(
            ConfigError(
                f"The override {error.override!r} cannot be parsed ({str(error).splitlines()[0]}). "
                "Overrides look like group=choice, key=value, or key=a,b,c for a sweep (with -m)."
            )
        )
    except ConfigCompositionException as error:
        exit_with(_composition_error(error))
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
    sys.stdout.flush()
