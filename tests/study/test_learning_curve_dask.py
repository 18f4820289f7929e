"""Learning-curve cells spread over a Dask cluster give the sequential results."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config

from acn_sklearn.study.learning_curve import run_cells

#: Separate processes, servers or clusters: minutes together; `pytest -m "not slow"` skips.
pytestmark = pytest.mark.slow

SUBSET = str(Path(__file__).parents[1] / "data" / "qm9_subset.extxyz")
distributed = pytest.importorskip(
    "dask.distributed", reason="dask[distributed] is not installed (the 'dask' extra)"
)


def test_cells_on_a_dask_cluster_equal_the_sequential_run(qm9_subset):
    X, y = qm9_subset
    models, sizes = ["cm", "cm_nystroem:krr__n_landmarks=30"], [60]
    sequential = run_cells(models, sizes, X, y, n_test=100)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster) as client,
        parallel_config(backend="dask", n_jobs=-1),
        distributed.get_task_stream(client) as tasks,
    ):
        on_dask = run_cells(models, sizes, X, y, n_test=100)
    keys = [str(task["key"]) for task in tasks.data]
    assert sum(key.startswith("batch_of__run_or_skip") for key in keys) == 2, keys
    assert [(c.model, c.n_train) for c in on_dask] == [(c.model, c.n_train) for c in sequential]
    for ours, theirs in zip(on_dask, sequential, strict=True):
        assert ours.mae == theirs.mae
        np.testing.assert_array_equal(ours.predictions, theirs.predictions)


def _cli_args(tmp_path):
    args = ["learning-curve", "--data", SUBSET, "--n-test", "100", "--sizes", "60"]
    return [*args, "--models", "cm", "-o", str(tmp_path), "--no-cache"]


def test_cli_runs_the_cells_on_the_scheduler_it_is_given(tmp_path, monkeypatch):
    from acn_sklearn.cli import main

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with (
        distributed.LocalCluster(n_workers=1, processes=False) as cluster,
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("error", message=".*MALLOC_TRIM_THRESHOLD_")
        code = main([*_cli_args(tmp_path), "--scheduler", cluster.scheduler_address])
        assert code == 0
        assert "batch_of__run_or_skip_1_calls" in cluster.scheduler.task_prefixes


def test_cli_warns_when_the_workers_fix_the_malloc_trim_threshold(tmp_path, monkeypatch):
    """The Dask nanny's MALLOC_TRIM_THRESHOLD_ makes network fits up to 2x slower."""
    from acn_sklearn.cli import main

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # in-process workers share it
    with (
        distributed.LocalCluster(n_workers=1, processes=False) as cluster,
        pytest.warns(RuntimeWarning, match=r"1 of 1 Dask workers .*THRESHOLD_=65536"),
    ):
        assert main([*_cli_args(tmp_path), "--scheduler", cluster.scheduler_address]) == 0
