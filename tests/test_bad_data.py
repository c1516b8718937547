"""Bad input stops the run before training with one paragraph naming the file, what rnnlab expected
and what it found. In-process for every case (the data module's spec is what the entrypoint reads
before it builds the trainer), and through the real entrypoint for a few."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rnnlab.cli.assemble import build_task
from rnnlab.data.sources.arrays import ArraysDataModule
from rnnlab.data.sources.frames_dir import FramesDirDataModule
from rnnlab.errors import ConfigError, DataError, RnnlabError
from tests.conftest import TINY_RUN, run_cli
from tests.data_makers import sequences, write_frames_dir


def error_of(build: Callable[[], object], kind: type[RnnlabError] = DataError) -> str:
    """The message of the error raised while building a data module and reading its spec."""
    with pytest.raises(kind) as caught:
        _ = build().spec  # type: ignore[attr-defined]
    message = str(caught.value)
    assert "\n" not in message, "one paragraph"
    return message


def save(path: Path, array: np.ndarray) -> str:
    np.save(path, array)
    return str(path)


class LeavesAMark:
    """Unpickling this would create a file: the proof that a data file ran code."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self):
        return (Path.touch, (self.mark,))


# -- missing files and folders -------------------------------------------------------------------


def test_missing_frames_file(tmp_path):
    message = error_of(lambda: ArraysDataModule(path=str(tmp_path / "nope.npy")))
    assert f"Frames file {tmp_path / 'nope.npy'} does not exist" in message


def test_missing_labels_file(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=2))
    message = error_of(lambda: ArraysDataModule(path=path, labels=str(tmp_path / "y.npy")))
    assert f"Labels file {tmp_path / 'y.npy'} does not exist" in message


def test_arrays_without_a_path_is_a_config_error():
    message = error_of(lambda: ArraysDataModule(), ConfigError)
    assert "data=arrays reads sequences from data.path, which is not set" in message


def test_missing_frames_folder(tmp_path):
    message = error_of(lambda: FramesDirDataModule(path=str(tmp_path / "videos")))
    assert f"Frames folder {tmp_path / 'videos'} does not exist" in message


def test_frames_folder_without_sequence_folders(tmp_path):
    (tmp_path / "videos").mkdir()
    message = error_of(lambda: FramesDirDataModule(path=str(tmp_path / "videos")))
    assert "videos has no sub-folders; expected one sub-folder of PNG/JPEG frames" in message


def test_sequence_folder_without_frames(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=2))
    for frame in (root / "seq_2").iterdir():
        frame.unlink()
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert f"Sequence folder {root / 'seq_2'} has no PNG/JPEG frames" in message


# -- wrong rank or layout ------------------------------------------------------------------------


def test_wrong_rank_for_the_layout(tmp_path):
    path = save(tmp_path / "x.npy", np.zeros((4, 5, 6), np.uint8))
    message = error_of(lambda: ArraysDataModule(path=path, layout="NTHW"))
    assert "x.npy holds frames of shape (4, 5, 6) (rank 3)" in message
    assert "layout=NTHW expects rank 4 (N T H W)" in message


def test_channels_first_data_declared_channels_last(tmp_path):
    path = save(tmp_path / "x.npy", np.zeros((4, 5, 1, 32, 32), np.uint8))
    message = error_of(lambda: ArraysDataModule(path=path, layout="NTHWC"))
    assert "x.npy holds frames of shape (4, 5, 1, 32, 32)" in message
    assert "32 channels, which looks like the layout is NTCHW" in message


def test_unknown_layout_is_a_config_error(tmp_path):
    message = error_of(lambda: ArraysDataModule(path="x.npy", layout="NHWT"), ConfigError)
    assert "data.layout='NHWT' is not a layout. Use one of: NTHW, NTHWC, NTCHW, TNHW" in message


def test_npz_without_the_named_array(tmp_path):
    np.savez(tmp_path / "d.npz", video=sequences(4, t=2))
    message = error_of(lambda: ArraysDataModule(path=str(tmp_path / "d.npz")))
    assert "d.npz has no array named 'frames'; it holds: video. Set data.key" in message


def test_file_that_is_neither_npy_nor_npz(tmp_path):
    (tmp_path / "x.npy").write_text("1,2,3\n")
    message = error_of(lambda: ArraysDataModule(path=str(tmp_path / "x.npy")))
    assert "x.npy is not a .npy or .npz file" in message and "found b'1,2,3\\n'" in message


# -- dtypes, NaN/inf -----------------------------------------------------------------------------


def test_frames_of_an_unusable_dtype(tmp_path):
    path = save(tmp_path / "x.npy", sequences(4, t=2).astype(np.int64))
    message = error_of(lambda: ArraysDataModule(path=path))
    assert "x.npy holds frames of dtype int64; expected uint8 (0..255" in message
    assert "or float (values in [0, 1])" in message


def test_labels_of_an_unusable_dtype(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=2))
    labels = save(tmp_path / "y.npy", np.zeros(10, np.float32))
    message = error_of(lambda: ArraysDataModule(path=path, labels=labels))
    assert "y.npy holds labels of dtype float32; expected integer class indices" in message


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_float_frames_is_located(tmp_path, bad):
    frames = np.zeros((3, 8, 4, 4), np.float32)  # (T, N, H, W)
    frames[1, 5, 2, 2] = bad  # frame 1 of sequence 5
    path = save(tmp_path / "x.npy", frames)
    message = error_of(lambda: ArraysDataModule(path=path, layout="TNHW"))
    assert f"x.npy holds {bad} in float frames (first at sequence 5, frame 1)" in message
    assert "expected finite values in [0, 1]" in message


def test_float_frames_outside_the_unit_range(tmp_path):
    path = save(tmp_path / "x.npy", sequences(4, t=2).astype(np.float32))
    message = error_of(lambda: ArraysDataModule(path=path))
    assert "x.npy holds float frames with values in [0, 255]; expected [0, 1]" in message


# -- labels out of range or of the wrong length --------------------------------------------------


def test_labels_out_of_range_for_num_classes(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=2))
    labels = save(tmp_path / "y.npy", np.arange(10))
    message = error_of(lambda: ArraysDataModule(path=path, labels=labels, num_classes=5))
    assert "y.npy holds label 9, out of range for data.num_classes=5 (labels 0..4)" in message


def test_negative_labels(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=2))
    labels = save(tmp_path / "y.npy", np.arange(10) - 1)
    message = error_of(lambda: ArraysDataModule(path=path, labels=labels))
    assert "y.npy holds negative labels (smallest -1)" in message


def test_labels_of_the_wrong_length(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=3))
    labels = save(tmp_path / "y.npy", np.zeros(9, np.int64))
    message = error_of(lambda: ArraysDataModule(path=path, labels=labels))
    assert (
        "y.npy holds labels of shape (9,); expected (10,) (one per sequence) or (10, 3)" in message
    )


def test_labels_csv_missing_a_sequence(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(8, t=2), np.zeros(8, int))
    csv = root / "labels.csv"
    csv.write_text("".join(line for line in csv.open() if not line.startswith("seq_3,")))
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert "labels.csv has 7 of the 8 labels expected (one per sequence); missing: seq_3" in message


def test_labels_csv_with_a_label_that_is_not_an_integer(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=2), np.zeros(4, int))
    (root / "labels.csv").write_text("sequence,label\nseq_0,cat\n")
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert "labels.csv line 2: label 'cat' is not an integer class index" in message


def test_labels_csv_with_an_unknown_header(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=2))
    (root / "labels.csv").write_text("name,class\nseq_0,1\n")
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert "labels.csv starts with name,class; expected the header 'sequence,label'" in message


def test_labels_csv_out_of_range(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(10, t=2), np.arange(10) % 4)
    message = error_of(lambda: FramesDirDataModule(path=str(root), num_classes=3))
    assert "labels.csv holds label 3, out of range for data.num_classes=3" in message


# -- sequences too short for the task ------------------------------------------------------------


def test_sequences_shorter_than_context_plus_predict_frames(tmp_path, compose_config):
    path = save(tmp_path / "short.npy", sequences(10, t=6))
    cfg = compose_config(["data=arrays", f"data.path={path}", "task=next_frame"])
    module = ArraysDataModule(path=path)
    with pytest.raises(ConfigError) as caught:
        build_task(cfg, module.spec)
    message = str(caught.value)
    assert f"10 + 10 = 20 frames, but the sequences in {path} have 6" in message


def test_a_sequence_folder_shorter_than_num_frames(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=5))
    (root / "seq_1" / "frame_5.png").unlink()
    message = error_of(lambda: FramesDirDataModule(path=str(root), num_frames=5))
    assert f"Sequence folder {root / 'seq_1'} has 4 frames, fewer than data.num_frames=5" in message


def test_sequence_folders_of_different_lengths_without_num_frames(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=5))
    (root / "seq_1" / "frame_5.png").unlink()
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert "hold different numbers of frames" in message and "seq_1 has 4" in message
    assert "Set data.num_frames=N" in message


# -- empty splits --------------------------------------------------------------------------------


def test_a_fraction_that_leaves_a_split_empty(tmp_path):
    path = save(tmp_path / "x.npy", sequences(5, t=2))
    message = error_of(lambda: ArraysDataModule(path=path, val_fraction=0.1))
    assert f"The val split is empty: data.val_fraction=0.1 of the 5 sequences in {path}" in message


def test_a_file_without_sequences(tmp_path):
    path = save(tmp_path / "x.npy", np.zeros((0, 20, 8, 8), np.uint8))
    message = error_of(lambda: ArraysDataModule(path=path))
    assert "x.npy holds no frames: shape (0, 20, 8, 8) (N T H W)" in message


def test_fractions_that_leave_no_training_sequences(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=2))
    message = error_of(
        lambda: ArraysDataModule(path=path, val_fraction=0.5, test_fraction=0.5), ConfigError
    )
    assert "data.val_fraction + data.test_fraction = 1 leaves no training sequences" in message


def test_a_separate_file_unlike_the_training_file(tmp_path):
    path = save(tmp_path / "x.npy", sequences(10, t=4))
    val = save(tmp_path / "v.npy", sequences(3, t=4, h=8, w=8))
    message = error_of(lambda: ArraysDataModule(path=path, val_path=val))
    assert "v.npy holds sequences of 4 frames of (C, H, W) = (1, 8, 8)" in message
    assert "expected them like" in message and "(1, 16, 16)" in message


# -- images: corrupt, or of different sizes ------------------------------------------------------


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_image_is_named(tmp_path, damage):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=3))
    frame = root / "seq_1" / "frame_2.png"
    frame.write_bytes(b"not an image" if damage == "garbage" else frame.read_bytes()[:60])
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert (
        f"Image {frame} cannot be decoded" in message and "expected a valid PNG or JPEG" in message
    )


def test_frames_of_different_sizes_in_one_sequence_without_a_resize(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=3))
    write_frames_dir(tmp_path / "small", sequences(1, t=3, h=8, w=10))
    (tmp_path / "small" / "seq_0" / "frame_2.png").replace(root / "seq_1" / "frame_2.png")
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert "Frames of one sequence differ in size" in message
    assert f"{root / 'seq_1' / 'frame_1.png'} is 16x16 (WxH)" in message
    assert f"{root / 'seq_1' / 'frame_2.png'} is 10x8 (WxH)" in message
    assert "Set data.size=[H,W]" in message
    resized = FramesDirDataModule(
        path=str(root), size=[8, 8], val_fraction=0.25, test_fraction=0.25
    )
    assert resized.spec.frame_shape == (1, 8, 8)


def test_sequences_of_different_frame_sizes_without_a_resize(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=2))
    write_frames_dir(tmp_path / "small", sequences(1, t=2, h=8, w=8))
    (root / "seq_9").mkdir()
    for frame in (tmp_path / "small" / "seq_0").iterdir():
        frame.replace(root / "seq_9" / frame.name)
    message = error_of(lambda: FramesDirDataModule(path=str(root)))
    assert "Sequences differ in frame size" in message and "seq_9" in message


# -- pickled objects -----------------------------------------------------------------------------


def test_npy_of_python_objects_is_refused_without_running_them(tmp_path):
    mark = tmp_path / "code_ran"
    path = tmp_path / "x.npy"
    np.save(path, np.array([LeavesAMark(mark), 1], dtype=object), allow_pickle=True)
    message = error_of(lambda: ArraysDataModule(path=str(path)))
    assert f"{path} holds Python objects (dtype=object)" in message
    assert "allow_pickle=False" in message
    assert not mark.exists()


def test_a_pickle_named_npy_is_refused_without_running_it(tmp_path):
    mark = tmp_path / "code_ran"
    path = tmp_path / "x.npy"
    path.write_bytes(pickle.dumps(LeavesAMark(mark)))
    message = error_of(lambda: ArraysDataModule(path=str(path)))
    assert f"Frames file {path} is a pickle, not a .npy/.npz file" in message
    assert not mark.exists()


def test_npz_holding_python_objects_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", frames=sequences(4, t=2), labels=np.array(["a", 1], dtype=object))
    message = error_of(lambda: ArraysDataModule(path=str(tmp_path / "d.npz"), labels="labels"))
    assert "d.npz holds Python objects in array 'labels' (dtype=object)" in message


def test_pickled_labels_file_is_refused(tmp_path):
    path = save(tmp_path / "x.npy", sequences(4, t=2))
    labels = tmp_path / "y.npy"
    labels.write_bytes(pickle.dumps([0, 1, 0, 1]))
    message = error_of(lambda: ArraysDataModule(path=path, labels=str(labels)))
    assert f"Labels file {labels} is a pickle" in message


# -- through the real entrypoint: exit code, one paragraph, no traceback, nothing trained --------


def run_failing(tmp_path: Path, args: list[str]) -> str:
    run_dir = tmp_path / "run"
    result = run_cli("rnnlab.train", [*args, *TINY_RUN, f"hydra.run.dir={run_dir}"], tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert not (run_dir / "checkpoints").exists()  # stopped before training
    return result.stderr


def test_entrypoint_missing_file(tmp_path):
    stderr = run_failing(tmp_path, ["data=arrays", f"data.path={tmp_path / 'mnist_test_seq.npy'}"])
    assert f"DataError: Frames file {tmp_path / 'mnist_test_seq.npy'} does not exist" in stderr


def test_entrypoint_pickled_file_runs_no_code(tmp_path):
    mark, path = tmp_path / "code_ran", tmp_path / "x.npy"
    path.write_bytes(pickle.dumps(LeavesAMark(mark)))
    stderr = run_failing(tmp_path, ["data=arrays", f"data.path={path}"])
    assert f"DataError: Frames file {path} is a pickle" in stderr
    assert not mark.exists()


def test_entrypoint_corrupt_image(tmp_path):
    root = write_frames_dir(tmp_path / "videos", sequences(4, t=20))
    (root / "seq_3" / "frame_7.png").write_bytes(b"\x89PNG broken")
    stderr = run_failing(tmp_path, ["data=frames_dir", f"data.path={root}"])
    assert f"DataError: Image {root / 'seq_3' / 'frame_7.png'} cannot be decoded" in stderr


def test_entrypoint_sequences_too_short_for_the_task(tmp_path):
    path = save(tmp_path / "short.npy", sequences(10, t=6))
    stderr = run_failing(tmp_path, ["data=arrays", f"data.path={path}", "task=next_frame"])
    assert "ConfigError: task.context_frames + task.predict_frames" in stderr
    assert f"the sequences in {path} have 6" in stderr
