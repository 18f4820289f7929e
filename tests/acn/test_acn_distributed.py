"""Data-parallel training: two gloo processes take the steps of one with twice the batch."""

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from acn_sklearn import ACNRegressor

#: Separate processes, servers or clusters: minutes together; `pytest -m "not slow"` skips.
pytestmark = pytest.mark.slow

TINY = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, max_epochs=3
)
N_MOLECULES = 80  # 64 training molecules after the 20 % validation split: 4 batches of 2 x 8


def _train(rank, world, init_file, out_dir, X, y, params):
    """One process of a data-parallel fit; saves what it fitted and predicted."""
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        model = ACNRegressor(**params, checkpoint_dir=out_dir / f"checkpoint{rank}").fit(X, y)
        torch.save(
            {
                "predictions": model.predict(X),
                "history": model.history.to_list(),
                "weights": model.module_.state_dict(),
            },
            out_dir / f"rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_processes(qm9_subset, tmp_path_factory):
    """A fit by two processes with batch 8 each, and the same fit by one with batch 16."""
    X, y = qm9_subset[0][:N_MOLECULES], qm9_subset[1][:N_MOLECULES]
    out = tmp_path_factory.mktemp("ddp")
    params = dict(TINY, random_state=0, batch_size=8, verbose=1)
    mp.spawn(_train, args=(2, out / "init", out, X, y, params), nprocs=2)
    ranks = [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(2)]
    alone = ACNRegressor(**TINY, random_state=0, batch_size=16).fit(X, y)
    return X, ranks, alone, out


def test_two_processes_take_the_steps_of_one_with_twice_the_batch(two_processes):
    X, ranks, alone, _ = two_processes
    for key in ("train_loss", "valid_loss", "valid_mae"):
        expected = [epoch[key] for epoch in alone.history]
        for rank in ranks:
            np.testing.assert_allclose([e[key] for e in rank["history"]], expected, rtol=1e-4)
    for name, weight in alone.module_.state_dict().items():
        np.testing.assert_allclose(ranks[0]["weights"][name], weight, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ranks[0]["predictions"], alone.predict(X), rtol=1e-5)


def test_every_process_ends_with_the_same_model(two_processes):
    _, (first, second), _, _ = two_processes
    np.testing.assert_array_equal(first["predictions"], second["predictions"])
    assert [e["valid_mae"] for e in first["history"]] == [e["valid_mae"] for e in second["history"]]


def test_only_rank_0_saves_checkpoints(two_processes):
    *_, out = two_processes
    assert [path.name for path in (out / "checkpoint0").iterdir()]
    assert not (out / "checkpoint1").exists()


def test_data_parallel_training_needs_a_random_state(qm9_subset, tmp_path, monkeypatch):
    from acn_sklearn.acn import _base

    monkeypatch.setattr(_base, "world_size", lambda: 2)
    X, y = qm9_subset
    with pytest.raises(ValueError, match="data-parallel training .* needs an int random_state"):
        ACNRegressor(**TINY).fit(X[:20], y[:20])


def test_only_the_main_process_prints(qm9_subset, monkeypatch, capsys):
    from acn_sklearn.acn import _base

    X, y = qm9_subset
    ACNRegressor(**TINY, random_state=0, verbose=2).fit(X[:20], y[:20])
    assert "train_loss" in capsys.readouterr().out
    monkeypatch.setattr(_base, "is_main_process", lambda: False)
    ACNRegressor(**TINY, random_state=0, verbose=2).fit(X[:20], y[:20])
    assert capsys.readouterr().out == ""
