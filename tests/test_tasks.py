"""Task modules: shapes, rollout, losses, baselines, and primitive hyperparameters."""

from __future__ import annotations

import pytest
import torch

from rnnlab.errors import ConfigError
from rnnlab.tasks import FrameClassifier, NextFramePredictor
from rnnlab.tasks.metrics import mae_per_frame, mse_per_frame

SPEC = {
    "channels": 1,
    "height": 8,
    "width": 8,
    "seq_len": 6,
    "num_classes": 5,
    "label_level": "per_frame",
}
LSTM = {"_target_": "rnnlab.cells.DenseCore", "cell": "lstm", "hidden_size": 16}
ADAM = {"_target_": "torch.optim.Adam", "lr": 1e-3}
HEAD = {"_target_": "rnnlab.heads.MLPHead", "hidden_sizes": []}


def next_frame(**kwargs) -> NextFramePredictor:
    args = dict(
        model=LSTM, optimizer=ADAM, data_spec=SPEC, head=HEAD, context_frames=3, predict_frames=3
    )
    return NextFramePredictor(**{**args, **kwargs})


def classifier(**kwargs) -> FrameClassifier:
    return FrameClassifier(
        **{**dict(model=LSTM, optimizer=ADAM, data_spec=SPEC, head=HEAD), **kwargs}
    )


def frames(b: int = 2, t: int = 6) -> torch.Tensor:
    return torch.rand(b, t, 1, 8, 8)


def test_rollout_predicts_the_requested_number_of_frames_in_range():
    predicted = next_frame()(frames()[:, :3], steps=4)
    assert predicted.shape == (2, 4, 1, 8, 8)
    assert predicted.min() >= 0.0 and predicted.max() <= 1.0


def test_rollout_feeds_predictions_back():
    task = next_frame()
    context = frames()[:, :3]
    predicted, _ = task.rollout(context, 2)
    # the second prediction equals a teacher-forced step whose input is the first prediction
    outputs, _ = task.core(torch.cat([context, predicted[:, :1]], dim=1).flatten(2))
    torch.testing.assert_close(task.to_frames(task.decode(outputs[:, -1:])), predicted[:, 1:])


def test_teacher_forcing_loss_is_finite_and_backpropagates():
    task = next_frame()
    x = frames()
    outputs, _ = task.core(x[:, :5].flatten(2))
    loss = task.loss_fn(task.decode(outputs), x[:, 1:6])
    loss.backward()
    assert torch.isfinite(loss)
    assert task.head.net[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
def test_output_activations_give_frames_in_range(activation):
    predicted = next_frame(output_activation=activation)(frames()[:, :3])
    assert predicted.min() >= 0.0 and predicted.max() <= 1.0


def test_bce_reads_head_outputs_as_logits():
    task = next_frame(loss="bce")
    raw, target = torch.zeros(1, 1, 1, 8, 8), torch.full((1, 1, 1, 8, 8), 0.5)
    assert task.loss_fn(raw, target).item() == pytest.approx(torch.log(torch.tensor(2.0)).item())


def test_bce_with_a_non_sigmoid_activation_is_refused():
    with pytest.raises(ConfigError, match="output_activation=sigmoid"):
        next_frame(loss="bce", output_activation="tanh")


def test_context_plus_predict_longer_than_sequences_is_refused():
    with pytest.raises(ConfigError, match=r"3 \+ 4 = 7 frames.*have 6"):
        next_frame(predict_frames=4)


def test_per_frame_errors_sum_over_pixels_and_keep_frames():
    prediction, target = torch.zeros(2, 3, 1, 4, 4), torch.full((2, 3, 1, 4, 4), 0.5)
    assert mse_per_frame(prediction, target).shape == (2, 3)
    assert mse_per_frame(prediction, target)[0, 0] == pytest.approx(16 * 0.25)
    assert mae_per_frame(prediction, target)[0, 0] == pytest.approx(16 * 0.5)


def test_per_frame_classifier_gives_logits_per_frame():
    assert classifier()(frames()).shape == (2, 6, 5)


@pytest.mark.parametrize("pool", ["last", "mean"])
def test_per_sequence_classifier_pools_over_time(pool):
    task = classifier(target="per_sequence", pool=pool)
    assert task(frames()).shape == (2, 5)


def test_per_sequence_pool_last_uses_only_the_last_output():
    task = classifier(target="per_sequence", pool="last")
    x = frames()
    outputs, _ = task.core(x.flatten(2))
    torch.testing.assert_close(task(x), task.head(outputs[:, -1]))


def test_per_sequence_on_per_frame_labels_uses_the_last_frames_label():
    task = classifier(target="per_sequence")
    labels = torch.tensor([[0, 1, 2], [3, 3, 4]])
    assert task._targets(labels).tolist() == [2, 4]


def test_per_frame_target_needs_per_frame_labels():
    with pytest.raises(ConfigError, match="per_sequence"):
        classifier(data_spec={**SPEC, "label_level": "per_sequence"})


def test_classification_needs_labelled_data():
    with pytest.raises(ConfigError, match="labelled data"):
        classifier(data_spec={**SPEC, "num_classes": None, "label_level": None})


def test_hyperparameters_are_primitives():
    def primitive(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and primitive(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return all(primitive(v) for v in value)
        return value is None or isinstance(value, bool | int | float | str)

    for task in (next_frame(), classifier()):
        assert primitive(dict(task.hparams))


def _epoch_accuracy_run(stage: str) -> tuple[float, float]:
    """A real Lightning epoch of a classifier whose weights do not move (lr 0) over batches of 4,
    4 and 2 sequences: (the logged ``<stage>/acc``, the accuracy over all frames by hand)."""
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    task = classifier(optimizer={**ADAM, "lr": 0.0})
    x, y = torch.rand(10, 6, 1, 8, 8), torch.randint(0, 5, (10, 6))
    loader = DataLoader(TensorDataset(x, y), batch_size=4)  # unequal batches: 4, 4, 2
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    if stage == "train":
        trainer.fit(task, loader)
    else:
        trainer.validate(task, loader, verbose=False)
    with torch.no_grad():
        by_hand = (task(x).argmax(-1) == y).float().mean().item()
    return float(trainer.callback_metrics[f"{stage}/acc"]), by_hand


@pytest.mark.parametrize("stage", ["train", "val"])
def test_classifier_logs_each_epochs_accuracy_over_all_its_frames(stage):
    logged, by_hand = _epoch_accuracy_run(stage)
    assert logged == pytest.approx(by_hand)
