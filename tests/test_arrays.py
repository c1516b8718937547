"""data=arrays: the user's .npy/.npz sequences in any supported layout, labels, splits, mmap."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnlab.data.sources.arrays import ArraysDataModule
from rnnlab.data.spec import frames_to_float
from tests.data_makers import sequences


def all_sequences(module: ArraysDataModule, split: str) -> dict[str, torch.Tensor]:
    """Every batch of ``split`` concatenated (val/test are not shuffled)."""
    loader = getattr(module, f"{split}_dataloader")()
    batches = list(loader)
    return {name: torch.cat([b[name] for b in batches]) for name in batches[0]}


def save(path: Path, array: np.ndarray) -> str:
    np.save(path, array)
    return str(path)


# (N, T, H, W) -> each layout
LAYOUT_OF = {
    "NTHW": lambda x: x,
    "TNHW": lambda x: x.transpose(1, 0, 2, 3),
    "NTHWC": lambda x: x[..., None],
    "NTCHW": lambda x: x[:, :, None],
}


@pytest.mark.parametrize("layout", list(LAYOUT_OF))
def test_every_layout_gives_the_same_batches(tmp_path, layout):
    frames = sequences(20, t=6, h=5, w=7)
    path = save(tmp_path / f"{layout}.npy", LAYOUT_OF[layout](frames))
    module = ArraysDataModule(path=path, layout=layout, batch_size=3)
    spec = module.spec
    assert (spec.channels, spec.height, spec.width, spec.seq_len) == (1, 5, 7, 6)
    test = all_sequences(module, "test")
    rows = torch.from_numpy(module.splits["test"].rows)
    assert test["frames"].shape == (2, 6, 1, 5, 7)
    assert torch.equal(test["frames"][:, :, 0], torch.from_numpy(frames)[rows])


def test_moving_mnist_layout_is_memory_mapped(tmp_path):
    """mnist_test_seq.npy is (T, N, H, W) = (20, 10000, 64, 64) uint8; here a small file like it."""
    path = save(
        tmp_path / "mnist_test_seq.npy", sequences(30, t=20, h=64, w=64).transpose(1, 0, 2, 3)
    )
    module = ArraysDataModule(path=path, layout="TNHW", batch_size=4)
    stored = module.splits["train"].array.frames
    assert isinstance(stored, np.memmap) and stored.mode == "r"
    assert Path(stored.filename) == Path(path).resolve()
    assert module.spec.frame_shape == (1, 64, 64) and module.spec.seq_len == 20
    batch = next(iter(module.train_dataloader()))
    assert batch["frames"].shape == (4, 20, 1, 64, 64) and batch["frames"].dtype == torch.uint8


def test_uint8_frames_are_scaled_to_unit_range_on_the_device_and_floats_pass(tmp_path):
    frames = sequences(10, t=4, h=4, w=4)
    uint8 = ArraysDataModule(
        path=save(tmp_path / "u.npy", frames), batch_size=10, test_fraction=0.5
    )
    as_float = (frames / 255.0).astype(np.float64)
    floats = ArraysDataModule(
        path=save(tmp_path / "f.npy", as_float), batch_size=10, test_fraction=0.5
    )
    a = frames_to_float(all_sequences(uint8, "test")["frames"])
    b = frames_to_float(all_sequences(floats, "test")["frames"])
    assert a.dtype == b.dtype == torch.float32
    assert torch.allclose(a, b) and a.max() == 1.0


def test_rgb_channels_last_become_channels_first(tmp_path):
    frames = np.zeros((10, 3, 4, 4, 3), np.uint8)
    frames[..., 0], frames[..., 1], frames[..., 2] = 10, 20, 30
    module = ArraysDataModule(path=save(tmp_path / "rgb.npy", frames), layout="NTHWC")
    assert module.spec.frame_shape == (3, 4, 4)
    batch = all_sequences(module, "train")["frames"]  # (B, T, 3, H, W)
    assert batch[:, :, :, 0, 0].unique(dim=0).tolist() == [[[10, 20, 30]] * 3]


def test_labels_from_a_npy_file_one_per_sequence(tmp_path):
    frames, labels = sequences(20, t=3), np.arange(20) % 5
    module = ArraysDataModule(
        path=save(tmp_path / "x.npy", frames), labels=save(tmp_path / "y.npy", labels)
    )
    assert (module.spec.num_classes, module.spec.label_level) == (5, "per_sequence")
    test = all_sequences(module, "test")
    rows = module.splits["test"].rows
    assert torch.equal(test["labels"], torch.from_numpy(labels[rows]))


def test_labels_inside_the_npz_one_per_frame_and_num_classes_set(tmp_path):
    frames, labels = sequences(20, t=3), np.ones((20, 3), np.int32)
    np.savez(tmp_path / "d.npz", video=frames, per_frame=labels)
    module = ArraysDataModule(
        path=str(tmp_path / "d.npz"), key="video", labels="per_frame", num_classes=4
    )
    assert (module.spec.num_classes, module.spec.label_level) == (4, "per_frame")
    batch = next(iter(module.train_dataloader()))
    assert batch["labels"].shape == (16, 3) and batch["labels"].dtype == torch.int64


def test_fraction_splits_are_disjoint_complete_and_fixed_by_the_split_seed(tmp_path):
    path = save(tmp_path / "x.npy", sequences(50, t=2))

    def rows(**kwargs) -> dict[str, np.ndarray]:
        module = ArraysDataModule(path=path, val_fraction=0.2, test_fraction=0.1, **kwargs)
        return {name: split.rows for name, split in module.splits.items()}

    split = rows(seed=1)
    assert [len(split[s]) for s in ("train", "val", "test")] == [35, 10, 5]
    assert sorted(np.concatenate(list(split.values())).tolist()) == list(range(50))
    assert all(np.array_equal(split[s], rows(seed=2)[s]) for s in split)  # run seed: same split
    assert not np.array_equal(split["val"], rows(split_seed=1)["val"])


def test_separate_val_and_test_files(tmp_path):
    train, val = sequences(30, t=4, seed=0), sequences(6, t=4, seed=1)
    np.savez(tmp_path / "train.npz", frames=train, labels=np.zeros(30, np.int64))
    np.savez(tmp_path / "val.npz", frames=val, labels=np.ones(6, np.int64))
    module = ArraysDataModule(
        path=str(tmp_path / "train.npz"),
        labels="labels",
        val_path=str(tmp_path / "val.npz"),
        test_fraction=0.2,
    )
    assert [len(module.splits[s].rows) for s in ("train", "val", "test")] == [24, 6, 6]
    val_batch = all_sequences(module, "val")
    assert torch.equal(val_batch["frames"][:, :, 0], torch.from_numpy(val))
    assert val_batch["labels"].tolist() == [1] * 6  # labels named like `labels` in the val .npz
    assert module.spec.num_classes == 2


def test_training_order_is_reshuffled_every_epoch_and_fixed_by_seed_and_epoch(tmp_path):
    path = save(tmp_path / "x.npy", sequences(40, t=2))
    labels = save(tmp_path / "y.npy", np.arange(40))

    def first_batch(seed: int, epoch: int) -> list[int]:
        loader = ArraysDataModule(
            path=path, labels=labels, seed=seed, batch_size=8
        ).train_dataloader()
        loader.sampler.set_epoch(epoch)  # as Lightning does at every epoch start
        return next(iter(loader))["labels"].tolist()

    first, second = first_batch(seed=5, epoch=0), first_batch(seed=5, epoch=1)
    assert set(first) != set(second)
    # a fresh loader (a resumed run) reads epoch 1 as the first loader did
    assert first_batch(seed=5, epoch=1) == second
    assert first_batch(seed=6, epoch=0) != first


def test_memory_mapped_frames_are_pickled_by_file_name(tmp_path):
    """DataLoader workers started with spawn/forkserver get the file's name, not a copy of it."""
    path = save(tmp_path / "x.npy", sequences(200, t=20, h=32, w=32))  # 4 MB
    array = ArraysDataModule(path=path).splits["train"].array
    data = pickle.dumps(array)
    assert len(data) < 10_000
    copy = pickle.loads(data)
    assert isinstance(copy.frames, np.memmap) and np.array_equal(copy.frames, array.frames)
    assert copy.read(np.array([3, 7])).shape == (2, 20, 1, 32, 32)
