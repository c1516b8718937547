"""User-facing errors: one clear paragraph, no traceback."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn


class RnnlabError(Exception):
    """A problem with the user's input (config, data, environment) that they can fix.

    The message names the problem and the fix; entrypoints print it without a traceback.
    """


class ConfigError(RnnlabError):
    """A config key holds a value rnnlab cannot use."""


class DataError(RnnlabError):
    """A data file or folder is missing or holds something rnnlab cannot use."""


class TrainingError(RnnlabError):
    """Training cannot go on (e.g. a non-finite loss)."""


# run.json and the run's log file get the error too; without a handler of their own (before
# Hydra configures logging) the records must not reach Python's last-resort stderr handler.
logging.getLogger("rnnlab").addHandler(logging.NullHandler())


def report(error: BaseException, log: bool = True) -> None:
    """Print ``error`` as one paragraph on stderr, and mark it as reported.

    ``log``: also log it (a run's log file keeps it); off outside a run, where Hydra's logging
    would print it on the console a second time.
    """
    print(f"\nrnnlab: {type(error).__name__}: {error}\n", file=sys.stderr, flush=True)
    if log:
        logging.getLogger("rnnlab").error("%s: %s", type(error).__name__, error)
    error.reported = True  # type: ignore[attr-defined]


def exit_with(error: BaseException, code: int = 2) -> NoReturn:
    """Print ``error`` as one paragraph on stderr (unless reported already), exit ``code``."""
    if not getattr(error, "reported", False):
        report(error)
    raise SystemExit(code)
