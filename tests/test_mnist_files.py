"""MNIST from local IDX files: the reader, the folder loader, digits=mnist, the opt-in download.

The download is tested against file:// mirrors the tests write: no test touches the network.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.data.readers.digits import digit_pools
from rnnlab.data.readers.download import download_mnist, md5sum
from rnnlab.data.readers.idx import read_idx
from rnnlab.data.readers.mnist import load_mnist, read_mnist_split
from rnnlab.data.sources.digit_rows import DigitRowsDataModule
from rnnlab.data.sources.moving_digits import MovingDigitsDataModule
from rnnlab.errors import ConfigError, DataError
from tests.conftest import REPO
from tests.data_makers import digit_images, idx_bytes, write_idx, write_mnist_dir

# The real MNIST test-set files, where the machine has them (never part of the repository).
SHARED_MNIST = Path(os.environ.get("RNNLAB_MNIST_DIR", REPO.parent / "shared" / "data" / "mnist"))


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader_returns_the_stored_array(tmp_path, gz):
    images, _ = digit_images(5, seed=0)
    path = write_idx(tmp_path / "images-idx3-ubyte", images, gz=gz)
    assert np.array_equal(read_idx(path), images)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(-3, 3, dtype=np.int8),
        np.arange(12, dtype=np.int16).reshape(3, 4) * 1000,
        np.arange(6, dtype=np.int32) * 100_000,
        np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 2, 2),
        np.linspace(0, 1, 3, dtype=np.float64),
    ],
)
def test_idx_reader_handles_every_idx_type_in_native_byte_order(tmp_path, array):
    read = read_idx(write_idx(tmp_path / "values-idx", array))
    assert np.array_equal(read, array)
    assert read.dtype.isnative


def test_idx_reader_names_a_file_that_is_not_idx(tmp_path):
    path = tmp_path / "notes-idx3-ubyte"
    path.write_bytes(b"hello world")
    with pytest.raises(DataError, match=r"notes-idx3-ubyte is not an IDX file.*found 68 65 6c 6c"):
        read_idx(path)


def test_idx_reader_names_a_truncated_file(tmp_path):
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(idx_bytes(digit_images(4, seed=0)[0])[:-100])
    with pytest.raises(DataError, match=r"cut-idx3-ubyte declares shape \(4, 28, 28\).*truncated"):
        read_idx(path)


def test_idx_reader_names_a_corrupt_gzip_file(tmp_path):
    path = tmp_path / "broken-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(digit_images(4, seed=0)[0]))[:-20])
    with pytest.raises(DataError, match=r"broken-idx3-ubyte.gz is a corrupt or truncated gzip"):
        read_idx(path)


@pytest.mark.skipif(
    not SHARED_MNIST.is_dir(),
    reason=f"no MNIST files at {SHARED_MNIST} (set RNNLAB_MNIST_DIR to a folder of them)",
)
def test_real_mnist_test_files_read_as_10000_digits():
    images, labels = read_mnist_split(SHARED_MNIST, "test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert images.max() == 255 and 0.12 < (images > 127).mean() < 0.2


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_folder_loads_train_and_test_splits(tmp_path, gz):
    parts = load_mnist(write_mnist_dir(tmp_path / "mnist", n_train=30, n_test=10, gz=gz))
    assert parts["train"][0].shape == (30, 28, 28) and parts["test"][0].shape == (10, 28, 28)
    assert parts["train"][1].dtype == np.int64
    assert np.array_equal(parts["test"][0], digit_images(10, seed=1)[0])


def test_mnist_folder_missing_files_names_them_and_the_download_command(tmp_path):
    directory = write_mnist_dir(tmp_path / "mnist")
    (directory / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as caught:
        load_mnist(directory)
    message = str(caught.value)
    assert "lacks train-labels-idx1-ubyte" in message
    assert f"python -m rnnlab.data.mnist_download {directory}" in message


def test_mnist_without_a_folder_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data\.mnist_dir, which is not set"):
        digit_pools("mnist", 28, 0.1, 0.1, mnist_dir=None)


def test_mnist_labels_of_the_wrong_length_are_named(tmp_path):
    directory = write_mnist_dir(tmp_path / "mnist", gz=False)
    write_idx(directory / "t10k-labels-idx1-ubyte", np.zeros(7, np.uint8))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte should hold one label per image"):
        load_mnist(directory)


def test_mnist_pools_keep_mnists_own_test_set(tmp_path):
    directory = write_mnist_dir(tmp_path / "mnist", n_train=50, n_test=20)
    pools = digit_pools("mnist", 14, val_fraction=0.2, test_fraction=0.1, mnist_dir=str(directory))
    assert [len(pools[s]) for s in ("train", "val", "test")] == [40, 10, 20]
    assert pools["train"].images.shape[1:] == (14, 14)


def test_moving_digits_from_an_mnist_folder(tmp_path):
    directory = write_mnist_dir(tmp_path / "mnist")
    module = MovingDigitsDataModule(
        digits="mnist", mnist_dir=str(directory), train_size=4, batch_size=4, val_size=4
    )
    assert module.spec.frame_shape == (1, 64, 64)
    batch = next(iter(module.train_dataloader()))
    assert batch["frames"].shape == (4, 20, 1, 64, 64) and batch["frames"].max() >= 200


def test_moving_digits_checks_the_mnist_folder_when_its_spec_is_read(tmp_path):
    module = MovingDigitsDataModule(digits="mnist", mnist_dir=str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=r"data.mnist_dir=.*nowhere is not a folder"):
        module.spec  # noqa: B018


def test_sequential_mnist_reads_28_rows(tmp_path):
    directory = write_mnist_dir(tmp_path / "mnist", n_train=40, n_test=10)
    module = DigitRowsDataModule(digits="mnist", mnist_dir=str(directory), batch_size=10)
    assert (module.spec.seq_len, module.spec.height, module.spec.width) == (28, 1, 28)
    batch = next(iter(module.test_dataloader()))
    images, labels = digit_images(10, seed=1)
    assert torch.equal(batch["frames"][:, :, 0, 0], torch.from_numpy(images))
    assert torch.equal(batch["labels"], torch.from_numpy(labels.astype(np.int64)))


# -- the opt-in download, against file:// mirrors -------------------------------------------------


def mirror_with(tmp_path: Path, name: str, files: dict[str, bytes]) -> str:
    folder = tmp_path / name
    folder.mkdir()
    for filename, data in files.items():
        (folder / filename).write_bytes(data)
    return folder.as_uri() + "/"


FAKE = {"a-idx1-ubyte.gz": gzip.compress(b"first file"), "b-idx1-ubyte.gz": b"second file"}


def checksums(files: dict[str, bytes], tmp_path: Path) -> dict[str, str]:
    sums = {}
    for name, data in files.items():
        (tmp_path / "sum").write_bytes(data)
        sums[name] = md5sum(tmp_path / "sum")
    return sums


def test_download_fetches_and_verifies_every_file(tmp_path):
    mirror = mirror_with(tmp_path, "mirror", FAKE)
    paths = download_mnist(tmp_path / "out", [mirror], checksums(FAKE, tmp_path))
    assert [p.read_bytes() for p in paths] == list(FAKE.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(FAKE)  # no .part left


def test_download_skips_a_mirror_whose_copy_fails_the_checksum(tmp_path):
    bad = mirror_with(tmp_path, "bad", {name: b"tampered" for name in FAKE})
    good = mirror_with(tmp_path, "good", FAKE)
    paths = download_mnist(tmp_path / "out", [bad, good], checksums(FAKE, tmp_path))
    assert [p.read_bytes() for p in paths] == list(FAKE.values())


def test_download_fails_clearly_when_no_mirror_has_a_verified_copy(tmp_path):
    bad = mirror_with(tmp_path, "bad", {name: b"tampered" for name in FAKE})
    empty = mirror_with(tmp_path, "empty", {})
    with pytest.raises(DataError) as caught:
        download_mnist(tmp_path / "out", [bad, empty], checksums(FAKE, tmp_path))
    message = str(caught.value)
    assert "Could not download a verified copy of a-idx1-ubyte.gz" in message
    assert "MD5" in message and "empty/a-idx1-ubyte.gz" in message
    assert not (tmp_path / "out" / "a-idx1-ubyte.gz").exists()


def test_download_keeps_files_already_present_and_verified(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for name, data in FAKE.items():
        (out / name).write_bytes(data)
    download_mnist(out, [mirror_with(tmp_path, "empty", {})], checksums(FAKE, tmp_path))
