"""data=frames_dir: a folder of sequences stored as PNG/JPEG frames, with optional labels.csv."""

from __future__ import annotations

import numpy as np
import torch

from rnnlab.data.sources.frames_dir import FramesDirDataModule
from rnnlab.data.spec import frames_to_float
from tests.data_makers import sequences, write_frames_dir


def module_for(root, **kwargs) -> FramesDirDataModule:
    return FramesDirDataModule(path=str(root), val_fraction=0.25, test_fraction=0.25, **kwargs)


def stacked(module: FramesDirDataModule) -> np.ndarray:
    """All decoded sequences ``(N, T, C, H, W)`` in folder order."""
    return module.splits["train"].array.frames


def test_frames_are_read_in_name_order_with_numbers_compared_by_value(tmp_path):
    frames = sequences(4, t=12, h=8, w=8)  # frame_1 .. frame_12: frame_10 sorts after frame_9
    module = module_for(write_frames_dir(tmp_path / "videos", frames))
    assert module.spec.frame_shape == (1, 8, 8) and module.spec.seq_len == 12
    assert np.array_equal(stacked(module)[:, :, 0], frames)


def test_batches_are_uint8_frames_scaled_on_the_device(tmp_path):
    module = module_for(write_frames_dir(tmp_path / "videos", sequences(8, t=3)), batch_size=4)
    batch = next(iter(module.train_dataloader()))
    assert batch["frames"].shape == (4, 3, 1, 16, 16) and batch["frames"].dtype == torch.uint8
    assert "labels" not in batch and module.spec.num_classes is None
    assert frames_to_float(batch["frames"]).max() == 1.0


def test_rgb_images_as_grayscale_or_rgb(tmp_path):
    frames = np.zeros((4, 2, 6, 6, 3), np.uint8)
    frames[..., 0] = 255  # pure red
    root = write_frames_dir(tmp_path / "videos", frames)
    rgb = stacked(module_for(root, color="rgb"))
    assert rgb.shape == (4, 2, 3, 6, 6)
    assert (rgb[:, :, 0] == 255).all() and (rgb[:, :, 1:] == 0).all()
    gray = stacked(module_for(root, color="grayscale"))
    assert gray.shape == (4, 2, 1, 6, 6) and (gray == 76).all()  # ITU-R 601 luma of red


def test_frames_are_resized_when_a_size_is_set(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=2, h=16, w=16))
    module = module_for(root, size=[8, 12])
    assert module.spec.frame_shape == (1, 8, 12)


def test_jpeg_frames_are_read(tmp_path):
    frames = np.full((4, 3, 16, 16), 128, np.uint8)
    module = module_for(write_frames_dir(tmp_path / "videos", frames, suffix=".jpg"))
    assert np.abs(stacked(module).astype(int) - 128).max() <= 2  # lossy, but close


def test_labels_csv_with_one_label_per_sequence(tmp_path):
    labels = np.array([0, 1, 2, 1, 0, 2, 1, 0])
    module = module_for(write_frames_dir(tmp_path / "videos", sequences(8, t=2), labels))
    assert (module.spec.num_classes, module.spec.label_level) == (3, "per_sequence")
    assert np.array_equal(module.splits["train"].array.labels, labels)


def test_labels_csv_with_one_label_per_frame(tmp_path):
    labels = np.arange(8 * 3).reshape(8, 3) % 4
    module = module_for(write_frames_dir(tmp_path / "videos", sequences(8, t=3), labels))
    assert (module.spec.num_classes, module.spec.label_level) == (4, "per_frame")
    assert np.array_equal(module.splits["train"].array.labels, labels)


def test_num_frames_takes_the_first_frames_of_sequences_of_any_length(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=6))
    for extra in (root / "seq_0").glob("frame_[56].png"):
        extra.unlink()  # seq_0 now has 4 frames, the others 6
    module = module_for(root, num_frames=4)
    assert module.spec.seq_len == 4
    assert np.array_equal(stacked(module)[:, :, 0], sequences(4, t=6)[:, :4])


def test_separate_validation_folder(tmp_path):
    train = write_frames_dir(tmp_path / "train", sequences(8, t=2, seed=0), np.zeros(8, int))
    val = write_frames_dir(tmp_path / "val", sequences(3, t=2, seed=1), np.ones(3, int))
    module = module_for(train, val_path=str(val))
    assert [len(module.splits[s].rows) for s in ("train", "val", "test")] == [6, 3, 2]
    assert module.spec.num_classes == 2
