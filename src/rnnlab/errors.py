"""User-facing errors: one clear paragraph, no traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
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


def exit_with(error: BaseException, code: int = 2) -> NoReturn:
    """Print ``error`` as one paragraph on stderr and exit with ``code``."""
    kind = type(error).__name__
    print(f"\nrnnlab: {kind}: {error}\n", file=sys.stderr, flush=True)
    raise SystemExit(code)


@contextmanager
def user_errors_exit() -> Iterator[None]:
    """Turn :class:`RnnlabError` raised inside the block into a clean exit (code 2)."""
    try:
        yield
    except RnnlabError as error:
        exit_with(error)
