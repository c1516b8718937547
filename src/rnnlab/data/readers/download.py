"""Download the four MNIST IDX files into a folder, verified by their published MD5 checksums.

    python -m rnnlab.data.mnist_download data/mnist
    rnnlab-train data.digits=mnist data.mnist_dir=data/mnist

This is the only code in rnnlab that touches the network, and only when run as above: training,
tests and the default run never download. Each file is fetched from the first mirror that serves
a copy with the right checksum, written to a temporary name and renamed once verified; files
already present with the right checksum are kept.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from rnnlab.errors import DataError, exit_with

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://yann.lecun.com/exdb/mnist/",
)
# The MD5 sums of the original distribution's files (as torchvision and TensorFlow check them).
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
TIMEOUT_S = 60


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_verified(name: str, md5: str, directory: Path, mirrors: Sequence[str]) -> Path:
    """Fetch ``name`` from the first of ``mirrors`` whose copy has checksum ``md5``."""
    target = directory / name
    partial = directory / f".{name}.part"
    failures = []
    for mirror in mirrors:
        url = mirror + name
        try:
            with (
                urllib.request.urlopen(url, timeout=TIMEOUT_S) as response,
                partial.open("wb") as out,
            ):
                shutil.copyfileobj(response, out)
        except OSError as error:  # URLError, HTTPError and socket timeouts are OSErrors
            failures.append(f"{url}: {getattr(error, 'reason', error)}")
            continue
        found = md5sum(partial)
        if found == md5:
            os.replace(partial, target)
            return target
        failures.append(f"{url}: MD5 {found}, expected {md5}")
    partial.unlink(missing_ok=True)
    raise DataError(
        f"Could not download a verified copy of {name} into {directory}. Tried: "
        f"{'; '.join(failures)}. Check the network, or copy the file there by hand."
    )


def download_mnist(
    directory: str | Path,
    mirrors: Sequence[str] = MIRRORS,
    files: Mapping[str, str] = MNIST_MD5,
) -> list[Path]:
    """Make sure ``directory`` holds each of ``files`` (name -> MD5), verified; return their paths.

    Files already there with the right checksum are not fetched again.
    """
    path = Path(directory).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    done = []
    for name, md5 in files.items():
        target = path / name
        if target.is_file() and md5sum(target) == md5:
            print(f"{target}: present, checksum ok")
        else:
            fetch_verified(name, md5, path, mirrors)
            print(f"{target}: downloaded, checksum ok")
        done.append(target)
    return done


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m rnnlab.data.mnist_download",
        description="Download the four MNIST IDX files (checksums verified) into DIR.",
    )
    parser.add_argument("directory", help="folder to put the files in (created if needed)")
    args = parser.parse_args(argv)
    try:
        download_mnist(args.directory)
    except DataError as error:
        exit_with(error)
    print(f"use them with: rnnlab-train data.digits=mnist data.mnist_dir={args.directory}")


if __name__ == "__main__":
    main()
