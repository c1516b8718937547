"""One resumable training sampler for every source: order from (seed, epoch), a position that
resumes mid-epoch, a share per DDP rank, and a loader Lightning can rebuild (overfit_batches,
spawned workers)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from rnnlab.data.sampling import EpochSampler, ResumableLoader
from rnnlab.data.sources.arrays import ArraysDataModule
from tests.conftest import PATIENCE_S, TINY, read_json, run_cli
from tests.data_makers import sequences


def labelled_arrays(tmp_path, **kwargs) -> ArraysDataModule:
    """40 sequences labelled by their index (4 in val, 4 in test, 32 in train)."""
    np.save(tmp_path / "x.npy", sequences(40, t=2))
    np.save(tmp_path / "y.npy", np.arange(40))
    return ArraysDataModule(
        path=str(tmp_path / "x.npy"), labels=str(tmp_path / "y.npy"), batch_size=4, **kwargs
    )


def batches(loader: ResumableLoader, epoch: int) -> list[list[int]]:
    loader.sampler.set_epoch(epoch)  # Lightning's call at every epoch start
    return [batch["labels"].tolist() for batch in loader]


def test_a_mid_epoch_state_resumes_with_exactly_the_batches_not_trained_on(tmp_path):
    module = labelled_arrays(tmp_path, seed=3)
    epoch_1 = batches(module.train_dataloader(), epoch=1)  # 8 batches
    saved = ResumableLoader.state_dict(module.train_dataloader())
    assert saved == {"epoch": 0, "batches_done": 0}  # no trainer yet: nothing trained

    resumed = module.train_dataloader()  # the loader of a resumed run
    resumed.load_state_dict({"epoch": 1, "batches_done": 3})
    assert batches(resumed, epoch=1) == epoch_1[3:]
    assert batches(resumed, epoch=2) != epoch_1  # the next epoch: a whole, new order
    assert len(batches(resumed, epoch=2)) == 8


def shares(size: int, ranks: int, epoch: int) -> list[list[int]]:
    samplers = [EpochSampler(range(size), seed=1, num_replicas=ranks, rank=r) for r in range(ranks)]
    for sampler in samplers:
        sampler.set_epoch(epoch)
    return [list(sampler) for sampler in samplers]


def test_ranks_read_disjoint_shares_of_each_epoch():
    read = shares(12, ranks=3, epoch=4)
    assert sorted(i for share in read for i in share) == list(range(12))
    assert read != shares(12, ranks=3, epoch=5)


def test_ranks_get_equal_shares_padded_like_torchs_distributed_sampler():
    read = shares(10, ranks=3, epoch=4)
    assert [len(r) for r in read] == [4, 4, 4]
    assert set().union(*read) == set(range(10))


def test_overfit_batches_trains_on_the_same_few_batches(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TINY, "trainer.max_epochs=2", "++trainer.overfit_batches=2"]
    result = run_cli("rnnlab.train", [*args, f"hydra.run.dir={run_dir}"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = read_json(run_dir / "run.json")
    assert record["status"] == "completed"
    assert record["progress"]["steps"] == 4  # 2 batches x 2 epochs


SPAWNED_TRAIN = (
    "import multiprocessing, sys\n"
    "multiprocessing.set_start_method('spawn')\n"  # the default on macOS and Windows
    "from rnnlab.cli.train import main\n"
    "sys.argv[0] = 'rnnlab-train'\n"
    "main()\n"
)


@pytest.mark.slow
def test_dataloader_workers_start_under_the_spawn_start_method(tmp_path):
    run_dir = tmp_path / "run"
    args = [*TINY, "data.num_workers=2", "test=false", f"hydra.run.dir={run_dir}"]
    result = subprocess.run(
        [sys.executable, "-c", SPAWNED_TRAIN, *args],
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert read_json(run_dir / "run.json")["status"] == "completed"
