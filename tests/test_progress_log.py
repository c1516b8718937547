"""Runs without a terminal (nohup, SLURM, CI) print plain progress lines and keep them in
train.log; with a terminal the progress bar shows progress (the lines only when it is off)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import PATIENCE_S, TINY

# TINY trains 4 batches of 8 sequences per epoch
NUMBER = r"[-+]?\d[\d.e+-]*"
EPOCH_LINE = re.compile(
    rf"^epoch (?P<epoch>\d+)/2 step (?P<step>\d+)/8 \| train/loss {NUMBER} \| "
    rf"val/loss {NUMBER} val/mae_per_frame {NUMBER} val/mse_per_frame {NUMBER} "
    rf"val/psnr {NUMBER} val/ssim {NUMBER} val/ssim_openstl {NUMBER} \| "
    rf"{NUMBER} samples/s \| elapsed \d+:\d\d:\d\d \| left ~\d+:\d\d:\d\d$"
)


def progress_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("epoch ")]


def logged_progress(run_dir: Path) -> list[str]:
    """The progress lines of ``<run>/train.log`` (after Hydra's ``[time][logger][level] - ``)."""
    log = (run_dir / "train.log").read_text()
    return [line.split(" - ", 1)[1] for line in log.splitlines() if "[rnnlab.progress]" in line]


def test_without_a_terminal_each_epoch_prints_a_line_and_train_log_keeps_it(train_run):
    result, run_dir = train_run([*TINY, "trainer.max_epochs=2"])  # stdout is a pipe
    lines = progress_lines(result.stdout)
    matches = [EPOCH_LINE.match(line) for line in lines]
    assert all(matches), lines
    assert [(m["epoch"], m["step"]) for m in matches] == [("1", "4"), ("2", "8")]
    assert logged_progress(run_dir) == lines


def test_within_an_epoch_a_line_comes_at_most_every_every_s_seconds(train_run):
    result, _ = train_run([*TINY, "callbacks.progress_log.every_s=0"])  # 0: after every batch
    lines = progress_lines(result.stdout)
    assert [line.split(" | ")[0] for line in lines] == [
        "epoch 1/1 batch 1/4 step 1/4",
        "epoch 1/1 batch 2/4 step 2/4",
        "epoch 1/1 batch 3/4 step 3/4",
        "epoch 1/1 step 4/4",  # the epoch's own line, with validation
    ]


def run_in_a_terminal(tmp_path: Path, args: list[str]) -> tuple[str, Path]:
    """Run ``rnnlab-train`` with a pseudo-terminal as its stdout; what it showed, its run dir."""
    run_dir = tmp_path / "run"
    parent, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "rnnlab.train", *args, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        stdout=child,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONWARNINGS": "ignore", "COLUMNS": "200"},
    )
    os.close(child)
    chunks: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(parent, chunks))
    reader.start()
    assert process.wait(timeout=PATIENCE_S) == 0, process.stderr.read()[-3000:]
    reader.join()
    return b"".join(chunks).decode(errors="replace"), run_dir


def test_with_a_terminal_the_progress_bar_shows_progress_and_no_lines_are_written(tmp_path):
    with_bar = [arg for arg in TINY if arg != "~callbacks.progress_bar"]  # the rich bar stays
    terminal, run_dir = run_in_a_terminal(tmp_path, with_bar)
    assert "Epoch 0/0" in terminal  # the rich progress bar
    assert progress_lines(terminal) == [] and logged_progress(run_dir) == []


def test_with_a_terminal_but_no_progress_bar_the_lines_show_progress(tmp_path):
    terminal, run_dir = run_in_a_terminal(tmp_path, [*TINY, "++trainer.enable_progress_bar=false"])
    lines = progress_lines(terminal.replace("\r\n", "\n"))
    assert [line.split(" | ")[0] for line in lines] == ["epoch 1/1 step 4/4"]
    assert logged_progress(run_dir) == lines


def _drain(fd: int, chunks: list[bytes]) -> None:
    """Read a pty until the process on its other side has closed it."""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
