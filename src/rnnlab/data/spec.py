"""What a task needs to know about the data (:class:`DataSpec`), the batch format, and the spec of
a user's plain ``LightningDataModule``, inferred from one of its batches.

A batch is a dict ``{"frames": (B, T, C, H, W), "labels": (B,) or (B, T)}`` (``labels`` only for
labelled data), or the tuple ``(frames, labels)`` (or a bare ``frames`` tensor). Frames are
``uint8`` (0..255) or floating point (in [0, 1]); labels are integer class indices.
:func:`batch_dict` turns any of these into the dict and checks it; the task calls it on every
batch, and :func:`infer_spec` on the first batch of a module that declares no spec.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch

from rnnlab.errors import DataError

if TYPE_CHECKING:
    import lightning as L

LabelLevel = Literal["per_frame", "per_sequence"]
LABEL_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)
FORMAT = (
    'Yield dict batches {"frames": (B, T, C, H, W) uint8 or float, "labels": (B,) or (B, T) '
    "integers} or (frames, labels) tuples."
)


@dataclass(frozen=True)
class DataSpec:
    """What a task needs to know about the data to build itself, as primitives.

    ``label_level`` is ``"per_frame"`` when labels are ``(B, T)``, ``"per_sequence"`` when they are
    ``(B,)``, ``None`` for unlabelled data; ``num_classes`` is ``None`` for unlabelled data.
    ``source`` names the file or folder the sequences come from, or the class of a user's data
    module (``None`` for rnnlab's generated data), so that messages about the data can point at it.
    """

    channels: int
    height: int
    width: int
    seq_len: int
    num_classes: int | None = None
    label_level: LabelLevel | None = None
    source: str | None = None

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame."""
        return (self.channels, self.height, self.width)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def frames_to_float(frames: torch.Tensor) -> torch.Tensor:
    """``uint8`` frames in 0..255 to float32 in [0, 1]; float frames pass through as float32."""
    if frames.dtype == torch.uint8:
        return frames.float().div_(255.0)
    return frames.float()


def class_path(obj: object) -> str:
    """``module.Class`` of ``obj``, for messages."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def describe(value: Any) -> str:
    """A short description of a batch element, for messages."""
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"a {type(value).__name__}"


def batch_dict(batch: Any, source: str) -> dict[str, torch.Tensor]:
    """``batch`` as ``{"frames": (B, T, C, H, W), "labels": (B,) or (B, T)}`` after checking its
    structure, dimensions and dtypes; a :class:`DataError` naming ``source`` when it is not one."""
    if isinstance(batch, torch.Tensor):
        batch = {"frames": batch}
    elif isinstance(batch, tuple | list) and len(batch) in (1, 2):
        batch = dict(zip(("frames", "labels"), batch, strict=False))
    elif not isinstance(batch, dict) or "frames" not in batch:
        found = sorted(batch) if isinstance(batch, dict) else describe(batch)
        raise DataError(f"{source} yielded a batch rnnlab cannot read ({found}). {FORMAT}")
    frames, labels = batch["frames"], batch.get("labels")
    if not isinstance(frames, torch.Tensor) or frames.dim() != 5:
        hint = ""
        if isinstance(frames, torch.Tensor) and frames.dim() == 4:
            hint = " For one channel, add its axis: frames[:, :, None] is (B, T, 1, H, W)."
        raise DataError(
            f"{source} yielded frames as {describe(frames)}; expected a tensor of shape "
            f"(B, T, C, H, W).{hint} {FORMAT}"
        )
    if frames.dtype != torch.uint8 and not frames.dtype.is_floating_point:
        raise DataError(
            f"{source} yielded frames of dtype {frames.dtype}; expected uint8 (0..255) or a "
            f"floating-point dtype (values in [0, 1]). {FORMAT}"
        )
    if labels is None:
        return batch
    b, t = frames.shape[:2]
    if not isinstance(labels, torch.Tensor) or tuple(labels.shape) not in ((b,), (b, t)):
        raise DataError(
            f"{source} yielded labels as {describe(labels)} for frames of shape "
            f"{tuple(frames.shape)}; expected ({b},) (one label per sequence) or ({b}, {t}) (one "
            f"per frame). {FORMAT}"
        )
    if labels.dtype not in LABEL_DTYPES:
        raise DataError(
            f"{source} yielded labels of dtype {labels.dtype}; expected integer class indices "
            f"(e.g. torch.int64). {FORMAT}"
        )
    if labels.dtype != torch.int64:
        batch = {**batch, "labels": labels.long()}
    return batch


def check_label_range(labels: torch.Tensor, num_classes: int, source: str) -> None:
    """Labels in ``0 .. num_classes - 1`` (reads them: call it on CPU tensors)."""
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(
            f"{source} yielded labels in {int(labels.min())}..{int(labels.max())}, outside the "
            f"classes 0..{num_classes - 1} (num_classes={num_classes}). Labels are class indices "
            "0..num_classes-1: give the module a `num_classes` attribute that counts every class."
        )


def first_batch(loader: Any, source: str, hook: str) -> Any:
    try:
        return next(iter(loader))
    except StopIteration:
        raise DataError(f"{source}.{hook}() yielded no batch: it needs at least one.") from None


def declared_num_classes(datamodule: L.LightningDataModule, source: str) -> int | None:
    """The module's ``num_classes`` attribute, when it has a usable one."""
    value = getattr(datamodule, "num_classes", None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DataError(f"{source}.num_classes={value!r} is not a number of classes (>= 1).")
    return value


def infer_spec(
    datamodule: L.LightningDataModule, stage: str = "fit", num_classes: int | None = None
) -> DataSpec:
    """The spec of a plain LightningDataModule, from the first batch of its ``stage`` loader.

    Calls ``prepare_data()`` and ``setup(stage)`` first (Lightning calls them again when it runs
    the stage). The number of classes is the module's ``num_classes`` attribute, else
    ``num_classes`` (rnnlab-eval passes the checkpoint's), else the largest label in the whole
    loader + 1 (one pass over it: declare ``num_classes`` to skip it).
    """
    source = class_path(datamodule)
    hook = "train_dataloader" if stage == "fit" else f"{stage}_dataloader"
    datamodule.prepare_data()
    datamodule.setup(stage)
    loader = getattr(datamodule, hook)()
    batch = batch_dict(first_batch(loader, source, hook), source)
    frames, labels = batch["frames"], batch.get("labels")
    _, seq_len, channels, height, width = frames.shape
    spec = DataSpec(channels, height, width, seq_len, source=source)
    if labels is None:
        return spec
    classes = declared_num_classes(datamodule, source) or num_classes
    if classes is None:
        classes = max(int(batch_dict(b, source)["labels"].max()) for b in loader) + 1
    check_label_range(labels, classes, source)
    level: LabelLevel = "per_sequence" if labels.dim() == 1 else "per_frame"
    return DataSpec(channels, height, width, seq_len, classes, level, source)


def data_spec(
    datamodule: L.LightningDataModule, stage: str = "fit", num_classes: int | None = None
) -> DataSpec:
    """The spec a data module declares (its ``spec`` property), else the one inferred from a
    batch of its ``stage`` loader (:func:`infer_spec`)."""
    if isinstance(getattr(type(datamodule), "spec", None), property):
        spec = datamodule.spec
        if not isinstance(spec, DataSpec):
            raise DataError(
                f"{class_path(datamodule)}.spec is {describe(spec)}, not a "
                "rnnlab.data.DataSpec. Return a DataSpec, or remove the property and let rnnlab "
                "infer the spec from a batch."
            )
        return spec
    return infer_spec(datamodule, stage, num_classes)
