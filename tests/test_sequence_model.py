"""SequenceModel(encoder, core, decoder): the adapters each core gets, every cell x layer count x
patch size x task, step mode, scheduled sampling, and conv cores through the real entrypoint."""

from __future__ import annotations

import re

import pytest
import torch

from rnnlab.config import to_primitive
from rnnlab.config.validate import check_components
from rnnlab.errors import ConfigError
from rnnlab.models.decoders import CNNFrameDecoder, ConvFrameDecoder, PooledFeatures
from rnnlab.models.encoders import CNNEncoder, FlattenEncoder, PatchEncoder
from rnnlab.tasks import FrameClassifier, NextFramePredictor
from tests.conftest import BRIEFLY, TINY_CONV_RUN, read_json
from tests.data_makers import tiny_data_overrides

SPEC = {
    "channels": 1,
    "height": 8,
    "width": 8,
    "seq_len": 6,
    "num_classes": 3,
    "label_level": "per_frame",
}
ADAM = {"_target_": "torch.optim.Adam", "lr": 1e-2}
HEAD = {"_target_": "rnnlab.models.heads.MLPHead", "hidden_sizes": []}
LSTM = {"_target_": "rnnlab.models.cells.DenseCore", "cell": "lstm", "hidden_size": 8}


def conv(cell: str = "lstm", **keys) -> dict:
    core = {"_target_": "rnnlab.models.cells.ConvCore", "cell": cell, "hidden_channels": [4]}
    return {**core, **keys}


def next_frame(model: dict, **kwargs) -> NextFramePredictor:
    args = dict(model=model, optimizer=ADAM, data_spec=SPEC, head=HEAD)
    return NextFramePredictor(**{**args, "context_frames": 3, "predict_frames": 3, **kwargs})


def classifier(model: dict, **kwargs) -> FrameClassifier:
    args = dict(model=model, optimizer=ADAM, data_spec=SPEC, head=HEAD)
    return FrameClassifier(**{**args, **kwargs})


def frames(b: int = 2, t: int = 6) -> torch.Tensor:
    return torch.rand(b, t, 1, 8, 8)


@pytest.mark.parametrize("task", ["classify", "next_frame"])
@pytest.mark.parametrize("patch_size", [1, 2, 4])
@pytest.mark.parametrize("widths", [[3], [3, 5]])
@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_conv_cores_give_the_tasks_shapes(cell, widths, patch_size, task):
    model = conv(cell, hidden_channels=widths, kernel_size=3, patch_size=patch_size)
    x = frames()
    if task == "classify":
        assert classifier(model)(x).shape == (2, 6, 3)
    else:
        predicted = next_frame(model)(x[:, :3], steps=4)
        assert predicted.shape == (2, 4, 1, 8, 8)
        assert predicted.min() >= 0 and predicted.max() <= 1


def test_adapters_follow_the_cores_kind():
    spatial = next_frame(conv(patch_size=2)).model
    assert isinstance(spatial.encoder, PatchEncoder) and spatial.encoder.output_channels == 4
    assert isinstance(spatial.decoder, ConvFrameDecoder)
    assert isinstance(classifier(conv()).model.decoder, PooledFeatures)
    assert isinstance(next_frame(LSTM).model.encoder, FlattenEncoder)
    cnn = next_frame({**LSTM, "encoder": "cnn", "encoder_channels": [4, 6]}).model
    assert isinstance(cnn.encoder, CNNEncoder) and isinstance(cnn.decoder, CNNFrameDecoder)
    assert cnn.core.rnn.input_size == 6 * 2 * 2  # 8x8 -> 4x4 -> 2x2 maps of 6 channels


def test_patchify_is_space_to_depth():
    encoder = PatchEncoder((1, 64, 64), patch_size=4)
    x = torch.rand(2, 3, 1, 64, 64)
    maps = encoder(x)
    assert maps.shape == (2, 3, 16, 16, 16)
    torch.testing.assert_close(maps[0, 0, :, 0, 0], x[0, 0, 0, :4, :4].flatten())


@pytest.mark.parametrize("size", [(8, 8), (10, 7)])
def test_cnn_encoder_and_decoder_mirror_each_other_on_any_frame_size(size):
    spec = {**SPEC, "height": size[0], "width": size[1]}
    model = {**LSTM, "encoder": "cnn", "encoder_channels": [4, 4, 4]}
    x = torch.rand(2, 6, 1, *size)
    assert next_frame(model, data_spec=spec)(x[:, :3]).shape == (2, 3, 1, *size)
    assert classifier(model, data_spec=spec)(x).shape == (2, 6, 3)


@pytest.mark.parametrize(
    "model",
    [conv("gru", norm="group"), {**LSTM, "encoder": "cnn", "encoder_channels": [4]}, LSTM],
    ids=["conv", "cnn", "flatten"],
)
@pytest.mark.parametrize("task", [next_frame, classifier], ids=["next_frame", "classify"])
def test_every_parameter_of_the_task_is_used(task, model):
    module = task(model)
    x = frames()
    output = module(x[:, :3]) if task is next_frame else module(x)
    if task is next_frame:  # the rollout's loss reaches everything but the clipped frames
        _, raw = module.rollout(x[:, :3], 3)
        output = raw
    output.square().sum().backward()
    unused = [name for name, p in module.named_parameters() if p.grad is None or not p.grad.any()]
    assert unused == []


def test_step_mode_continues_sequence_mode():
    model = next_frame(conv("lstm", hidden_channels=[3, 3], patch_size=2)).model
    x = frames()
    full, _ = model(x)
    _, state = model(x[:, :4])
    step, _ = model.step(x[:, 4], state)
    torch.testing.assert_close(step, full[:, 4])


def test_conv_core_learns_to_classify_frames():
    torch.manual_seed(0)
    spec = {**SPEC, "seq_len": 4, "label_level": "per_sequence"}
    model = conv("gru", hidden_channels=[8], kernel_size=3)
    task = classifier(model, data_spec=spec, target="per_sequence")
    labels = torch.arange(6) % 3
    x = torch.zeros(6, 4, 1, 8, 8)
    for index, label in enumerate(labels):  # class k: a bright square in row-band k
        x[index, :, 0, 2 * label : 2 * label + 3, 2:6] = 1.0
    optimizer = torch.optim.Adam(task.parameters(), lr=3e-2)
    for _ in range(60):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(task(x), labels)
        loss.backward()
        optimizer.step()
    assert (task(x).argmax(-1) == labels).all()


def test_adapter_keys_that_do_not_fit_the_core_are_refused():
    with pytest.raises(ConfigError, match=r"model\.encoder=patchify"):
        next_frame(conv(encoder="cnn"))
    with pytest.raises(ConfigError, match="spatial"):
        next_frame({**LSTM, "patch_size": 2})
    with pytest.raises(ConfigError, match="does not divide"):
        next_frame(conv(patch_size=3))


@pytest.mark.parametrize(
    ("override", "allowed"),
    [
        ("model.kernel_size=4", "an odd whole number >= 1"),
        ("model.hidden_channels=[8,0]", "one per layer"),
        ("model.norm=batch", "one of none, layer, group"),
        ("model.patch_size=0", "a whole number >= 1"),
        ("model.encoder=pixels", "one of flatten, cnn, patchify, or null"),
        ("model.compile=sometimes", "true or false"),
    ],
)
def test_bad_conv_model_values_are_refused_before_anything_is_built(
    compose_config, override, allowed
):
    model = to_primitive(compose_config(["model=conv_lstm", override]).model)
    with pytest.raises(ConfigError, match=re.escape(allowed)):
        check_components({"model": model})


def test_checkpoints_from_before_sequence_model_still_load():
    task = next_frame(LSTM)
    old_names = {"model.core.": "core.", "model.decoder.head.": "head."}
    legacy = {}
    for key, value in task.state_dict().items():
        for new, old in old_names.items():
            key = key.replace(new, old) if key.startswith(new) else key
        legacy[key] = value + 1
    fresh = next_frame(LSTM)
    fresh.load_state_dict(legacy)
    torch.testing.assert_close(fresh.head.net[0].weight, task.head.net[0].weight + 1)


@pytest.fixture
def at_step(monkeypatch):
    def _at(step: int) -> None:
        monkeypatch.setattr(NextFramePredictor, "global_step", property(lambda self: step))

    return _at


def test_teacher_forcing_decays_linearly_then_stays(at_step):
    task = next_frame(LSTM, scheduled_sampling={"steps": 100, "end": 0.2})
    probabilities = []
    for step in (0, 50, 100, 200):
        at_step(step)
        probabilities.append(task.teacher_forcing)
    assert probabilities == pytest.approx([1.0, 0.6, 0.2, 0.2])


def test_scheduled_sampling_is_off_by_default(at_step):
    at_step(10_000)
    assert next_frame(LSTM).teacher_forcing == 1.0


@pytest.mark.parametrize("model", [LSTM, conv()], ids=["dense", "conv"])
def test_sampled_forcing_spans_teacher_forcing_and_rollout(model):
    task = next_frame(model)
    x = frames()
    teacher, _ = task.model(x[:, :-1])  # (B, 5, C, H, W): frames 1..5 from true inputs
    torch.testing.assert_close(task.sampled_forcing(x, 1.0), teacher)
    _, rollout = task.rollout(x[:, :3], 3)  # frames 3..5 from the context alone
    torch.testing.assert_close(task.sampled_forcing(x, 0.0)[:, 2:], rollout)


def test_l1_loss_is_the_mean_absolute_error_of_the_activated_frames():
    task = next_frame(LSTM, loss="l1", output_activation="identity")
    raw, target = torch.zeros(1, 1, 1, 8, 8), torch.full((1, 1, 1, 8, 8), 0.25)
    assert task.loss_fn(raw, target).item() == pytest.approx(0.25)


def test_unknown_scheduled_sampling_key_is_refused():
    with pytest.raises(ConfigError, match="Allowed keys: steps, end"):
        next_frame(LSTM, scheduled_sampling={"step": 10})


TINY_DATA = [*tiny_data_overrides("moving_digits"), "data.canvas_size=16"]


@pytest.mark.parametrize(
    "task",
    ["task=next_frame task.scheduled_sampling.steps=2", "task=classify"],
    ids=["next_frame", "classify"],
)
def test_conv_lstm_trains_and_tests_through_the_entrypoint(train_run, task):
    _, run_dir = train_run(["model=conv_lstm", *task.split(), *TINY_DATA, *TINY_CONV_RUN])
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["config"]["model"]["_target_"] == "rnnlab.models.cells.ConvCore"
    final = record["metrics"]["final"]
    assert "test/mse_per_frame" in final if task.startswith("task=next") else "test/acc" in final


def test_dense_core_reads_frames_through_a_cnn_via_the_entrypoint(train_run):
    cnn = ["model=gru", "model.encoder=cnn", "model.encoder_channels=[4,4]", "model.hidden_size=8"]
    _, run_dir = train_run([*cnn, *TINY_DATA, *BRIEFLY])
    assert read_json(run_dir / "run.json")["status"] == "completed"


def test_prediction_strips_stay_on_the_frames_device_and_show_the_error():
    from rnnlab.tasks.images import prediction_strips

    truth, prediction = torch.zeros(2, 3, 1, 4, 4), torch.full((2, 3, 1, 4, 4), 0.25)
    image = prediction_strips(torch.zeros(2, 2, 1, 4, 4), truth, prediction, gap=1)
    assert image.shape == (1, 2 * (4 * 4 + 3) + 3, 3 * 5)
    assert image[0, 3 * 5 : 3 * 5 + 4, :4].eq(0.25).all()  # first error frame: |0 - 0.25|
    on_meta = prediction_strips(*(x.to("meta") for x in (truth[:, :2], truth, prediction)))
    assert on_meta.device.type == "meta"  # no tensor made on the CPU beside GPU frames


@pytest.mark.slow  # torch.compile: ~20 s of compiling on a CPU
def test_compiled_model_computes_the_eager_outputs_and_gradients():
    torch.manual_seed(0)
    eager = next_frame(conv("lstm", kernel_size=3, patch_size=2))
    compiled = next_frame(conv("lstm", kernel_size=3, patch_size=2, compile=True))
    compiled.load_state_dict(eager.state_dict())
    compiled.configure_model()  # as Lightning calls it in the process that trains
    assert compiled.model.core._compiled_call_impl is not None
    x = frames()
    losses = []
    for task in (eager, compiled):
        raw, _ = task.model(x[:, :-1])  # (B, 5, 1, 8, 8): teacher forcing
        loss = task.loss_fn(raw, x[:, 1:])
        loss.backward()
        losses.append(loss)
    torch.testing.assert_close(losses[1], losses[0])
    for (name, p_eager), p_compiled in zip(
        eager.named_parameters(), compiled.parameters(), strict=True
    ):
        torch.testing.assert_close(p_compiled.grad, p_eager.grad, msg=name)
    assert compiled.state_dict().keys() == eager.state_dict().keys()  # checkpoints unchanged


@pytest.mark.slow
def test_compiled_conv_lstm_trains_and_tests_through_the_entrypoint(train_run):
    compiled = ["model=conv_lstm", "model.compile=true", "task.scheduled_sampling.steps=2"]
    partial = ["data.val_size=13", "data.test_size=11"]  # last batches of 5 and 3 sequences
    result, run_dir = train_run([*compiled, *TINY_DATA, *partial, *TINY_CONV_RUN])
    # sequence lengths x grad modes x batch sizes: more graphs than torch's default limit of 8
    assert "recompile_limit" not in result.stdout + result.stderr
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed" and record["config"]["model"]["compile"] is True
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    assert not any("_orig_mod" in key for key in checkpoint["state_dict"])
