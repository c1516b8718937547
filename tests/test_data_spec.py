"""The spec of a user's plain LightningDataModule, inferred from its batches, and the batch format
the tasks read (dicts or tuples, uint8 or float frames)."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from rnnlab.data.spec import DataSpec, batch_dict, infer_spec
from rnnlab.errors import DataError
from tests.test_tasks import classifier


class DictBatches(L.LightningDataModule):
    """Float frames ``(B, 4, 2, 5, 6)`` with per-frame labels in dict batches; labels of the first
    batch stop at 1, later ones reach ``top``."""

    def __init__(self, top: int = 6, num_classes: int | None = None) -> None:
        super().__init__()
        self.top = top
        if num_classes is not None:
            self.num_classes = num_classes

    def setup(self, stage: str) -> None:
        labels = torch.zeros(12, 4, dtype=torch.int64)
        labels[:4] = 1
        labels[-1, -1] = self.top
        self.data = TensorDataset(torch.rand(12, 4, 2, 5, 6), labels)

    def train_dataloader(self) -> DataLoader:
        def collate(items):
            frames, labels = zip(*items, strict=True)
            return {"frames": torch.stack(frames), "labels": torch.stack(labels)}

        return DataLoader(self.data, batch_size=4, collate_fn=collate)


def test_spec_is_inferred_from_a_batch_after_setup():
    spec = infer_spec(DictBatches(num_classes=9))
    assert spec == DataSpec(
        channels=2,
        height=5,
        width=6,
        seq_len=4,
        num_classes=9,
        label_level="per_frame",
        source="tests.test_data_spec.DictBatches",
    )


def test_without_num_classes_every_training_label_counts():
    assert infer_spec(DictBatches(top=6)).num_classes == 7  # not 2, as the first batch says


def test_declared_num_classes_below_a_label_is_a_data_error():
    expected = r"DictBatches yielded labels in 1\.\.1, outside the classes 0\.\.0"
    with pytest.raises(DataError, match=expected):
        infer_spec(DictBatches(num_classes=1))


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ((torch.zeros(2, 3, 1, 4, 4, dtype=torch.int32),), "frames of dtype torch.int32"),
        ((torch.zeros(2, 3, 4, 4),), r"add its axis: frames\[:, :, None\]"),
        ((torch.zeros(2, 3, 1, 4, 4), torch.zeros(2, 4)), r"expected \(2,\).*or \(2, 3\)"),
        ((torch.zeros(2, 3, 1, 4, 4), torch.zeros(2)), "labels of dtype torch.float32"),
        ({"images": torch.zeros(2, 3, 1, 4, 4)}, r"cannot read \(\['images'\]\)"),
    ],
    ids=["int_frames", "no_channel_axis", "labels_length", "float_labels", "no_frames_key"],
)
def test_a_batch_rnnlab_cannot_read_is_a_data_error_naming_the_module(batch, message):
    with pytest.raises(DataError, match=message) as error:
        batch_dict(batch, "my_data.Module")
    assert str(error.value).startswith("my_data.Module yielded")


def test_tasks_read_uint8_tuple_batches_as_float_dicts():
    task = classifier()
    frames = torch.full((2, 6, 1, 8, 8), 255, dtype=torch.uint8)
    labels = torch.zeros(2, 6, dtype=torch.int32)
    batch = task.prepare_batch(task.on_before_batch_transfer((frames, labels), 0))
    assert batch["frames"].dtype == torch.float32 and batch["frames"].max() == 1.0
    assert batch["labels"].dtype == torch.int64
    # a step reads the tuple as it is too (a data module's own hook may replace the one above)
    assert torch.equal(task.prepare_batch((frames, labels))["frames"], batch["frames"])


def test_tasks_refuse_batches_of_another_frame_shape_or_an_unknown_class():
    task = classifier()  # frames (1, 8, 8), 5 classes
    with pytest.raises(DataError, match=r"built for frames of \(C, H, W\) = \(1, 8, 8\)"):
        task.on_before_batch_transfer((torch.zeros(2, 6, 1, 8, 9), torch.zeros(2, 6).long()), 0)
    with pytest.raises(DataError, match=r"outside the classes 0\.\.4 \(num_classes=5\)"):
        task.on_before_batch_transfer((torch.zeros(2, 6, 1, 8, 8), torch.full((2, 6), 5)), 0)
