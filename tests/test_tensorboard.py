"""TensorBoard event files, read back with tensorboard's own reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.conftest import TINY, read_json, sweep_runs

# one worker runs these and test_train_e2e's sweep tests: the session's sweep is made once
pytestmark = pytest.mark.xdist_group("sweep_all_cells")


def load_events(run_dir: Path) -> EventAccumulator:
    tensorboard_dir = read_json(run_dir / "run.json")["tensorboard_dir"]
    events = EventAccumulator(tensorboard_dir, size_guidance={"images": 0})
    events.Reload()
    return events


def hparams_tab(logdir: Path) -> tuple[list[str], list[str]]:
    """The HPARAMS tab's columns for ``logdir`` as TensorBoard's own hparams backend builds them:
    ``(hparam names, metric tags)``."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import backend_context

    mux = multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    provider = data_provider.MultiplexerDataProvider(mux, str(logdir))
    tb = backend_context.Context(base_plugin.TBContext(logdir=str(logdir), data_provider=provider))
    request = context.RequestContext()
    experiment = tb.experiment_from_metadata(
        request,
        "",
        True,
        tb.hparams_metadata(request, ""),
        tb.hparams_from_data_provider(request, "", None),
    )
    return [h.name for h in experiment.hparam_infos], [m.name.tag for m in experiment.metric_infos]


def hparams_session(events: EventAccumulator) -> plugin_data_pb2.HParamsPluginData:
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    return plugin_data_pb2.HParamsPluginData.FromString(content)


@pytest.fixture(scope="session")
def next_frame_events(tmp_path_factory) -> EventAccumulator:
    from tests.conftest import run_cli

    tmp = tmp_path_factory.mktemp("tb_next_frame")
    result = run_cli("rnnlab.train", [*TINY, "trainer.max_epochs=2", f"hydra.run.dir={tmp}"], tmp)
    assert result.returncode == 0, result.stderr[-3000:]
    return load_events(tmp)


@pytest.mark.parametrize("task", ["next_frame", "classify"])
def test_training_loss_is_logged_every_log_every_n_steps(task, tmp_path):
    from tests.conftest import run_cli

    args = [*TINY, f"task={task}", "trainer.max_epochs=2", "trainer.log_every_n_steps=3"]
    result = run_cli("rnnlab.train", [*args, f"hydra.run.dir={tmp_path}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [e.step for e in load_events(tmp_path).Scalars("train/loss")]
    assert steps == [2, 5]  # 8 steps (2 epochs of 4 batches): Lightning writes steps 3 and 6


def test_generation_logs_scalars_per_stage(next_frame_events):
    tags = set(next_frame_events.Tags()["scalars"])
    assert {
        "train/loss",
        "val/loss",
        "val/mse_per_frame",
        "val/mae_per_frame",
        "test/loss",
        "test/mse_per_frame",
        "test/mae_per_frame",
    } <= tags


def test_generation_logs_baselines_once_per_stage(next_frame_events):
    for stage in ("val", "test"):
        for name in ("copy_last", "blank"):
            points = next_frame_events.Scalars(f"{stage}/baseline_{name}_mse_per_frame")
            assert len(points) == 1
    assert len(next_frame_events.Scalars("val/mse_per_frame")) == 2  # one per epoch


def test_generation_logs_prediction_strips(next_frame_events):
    tags = next_frame_events.Tags()["images"]
    assert "val/predictions" in tags and "test/predictions" in tags
    image = next_frame_events.Images("val/predictions")[-1]
    # 4 sequences stacked, each 4 rows (context / truth / prediction / error) of 10 frames of 32 px
    strip_height = 4 * 32 + 3 * 2
    assert image.height == 4 * strip_height + 3 * 6
    assert image.width == 10 * (32 + 2)


def test_hparams_lead_with_choices_and_the_keys_the_command_line_set(next_frame_events):
    params = hparams_session(next_frame_events).session_start_info.hparams
    assert params["model"].string_value == "lstm"
    assert params["task"].string_value == "next_frame"
    assert params["model.hidden_size"].number_value == 16  # set by the command line
    assert params["seed"].number_value == 42
    assert not [name for name in params if "_target_" in name or name.startswith("data/")]
    assert "hp_metric" not in next_frame_events.Tags()["scalars"]


def test_sweep_runs_are_named_in_tensorboard_by_what_the_sweep_varies(sweep_all_cells):
    run_dir = sweep_runs(sweep_all_cells)[("gru", "classify")]
    tensorboard_dir = Path(read_json(run_dir / "run.json")["tensorboard_dir"])
    assert tensorboard_dir == run_dir / "tensorboard" / "model=gru,task=classify"


def test_hparams_tab_of_a_sweep_mixing_tasks_has_every_tasks_metrics(sweep_all_cells):
    names, metrics = hparams_tab(sweep_all_cells)
    assert {"model", "task", "seed"} <= set(names)
    assert not [name for name in names if "_target_" in name]
    assert {"test/acc", "test/f1", "test/mse_per_frame", "val/loss", "val/loss_best"} <= set(
        metrics
    )


def test_classification_logs_accuracy_and_f1(sweep_all_cells):
    run_dir = sweep_runs(sweep_all_cells)[("gru", "classify")]
    tags = set(load_events(run_dir).Tags()["scalars"])
    assert {"train/loss", "val/loss", "val/acc", "val/f1", "test/acc", "test/f1"} <= tags
