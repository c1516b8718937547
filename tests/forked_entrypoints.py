"""Entrypoint runs in fresh processes that start with rnnlab, Lightning and torch already imported.

Every test run of ``rnnlab-train`` (or another entrypoint) is a process of its own: its own
exit code, stdout, stderr, working directory, environment and global state. Started as a new
interpreter, each would spend ~4 s importing torch, Lightning and Hydra before doing a test's
second of work. Here a per-worker fork server (``multiprocessing``'s ``forkserver``) imports them
once, without running any torch computation (so no thread pool exists when it forks), and each run
is a fork of it that then behaves as ``python -m <module> <args>`` would: it changes directory,
takes the run's environment, writes stdout and stderr to files, runs the module as ``__main__``,
runs the exit handlers and exits with the program's code.

What a fork cannot reproduce, a test must run in a new interpreter (``conftest._run`` decides):
environment variables read at interpreter start or import (``PYTHONPATH`` with a
``sitecustomize``, thread counts, ``PYTHONWARNINGS`` other than "ignore"), and checks of what a
process imports.
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import threading
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

# What the fork server imports once: the entrypoints and what a run imports (Lightning first
# pulls in torch, torchmetrics and TensorBoard's writer).
PRELOAD = [
    "lightning",
    "rnnlab.cli.train",
    "rnnlab.cli.evaluate",
    "rnnlab.data",
    "rnnlab.tasks",
    "rnnlab.run.trainer",
]
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(PRELOAD)


def _exit_code(code: object) -> int:
    """The exit status Python gives ``sys.exit(code)``: None is 0, an int is itself, else 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _child(
    program: str, argv: list[str], cwd: str, env: dict[str, str], out: str, err: str
) -> None:
    """Run ``program`` with ``argv`` inside this forked process, then leave with its exit code.

    ``program`` is a module to run as ``__main__`` (``python -m``) or, written
    ``package.module:function``, a console script's function (called as ``sys.exit(function())``).
    """
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if env.get("PYTHONWARNINGS") == "ignore":
        warnings.simplefilter("ignore")
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    sys.argv = argv
    try:
        if ":" in program:
            module, function = program.split(":")
            code = _exit_code(getattr(importlib.import_module(module), function)())
        else:
            runpy.run_module(program, run_name="__main__", alter_sys=True)
            code = 0
    except SystemExit as stop:
        code = _exit_code(stop.code)
    except BaseException:  # what the interpreter does with an uncaught exception
        traceback.print_exc()
        code = 1
    # What the interpreter does on its way out: join non-daemon threads and run the callbacks
    # registered with threading (executors shut down their workers there), then atexit's.
    threading._shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(
    program: str,
    argv: Sequence[str],
    command: Sequence[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
) -> subprocess.CompletedProcess[str]:
    """Run ``program`` (see ``_child``) in a forked process; its exit code and captured output.

    ``argv`` is what the process sees as ``sys.argv``; ``command`` the command line it stands for.
    Raises ``subprocess.TimeoutExpired`` (after killing it) when it runs past ``timeout``.
    """
    with tempfile.TemporaryDirectory(prefix="rnnlab-forked-") as captured:
        out, err = Path(captured, "stdout"), Path(captured, "stderr")
        process = _CONTEXT.Process(
            target=_child, args=(program, list(argv), str(cwd), env, str(out), str(err))
        )
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(list(command), timeout)
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    return subprocess.CompletedProcess(list(command), process.exitcode, stdout, stderr)
