"""Learning curves on QM9 with one honest protocol for every model.

The protocol: one held-out test set of ``n_test`` QM9 molecules, drawn once with
``test_seed``, never used for fitting, early stopping or choosing hyperparameters.
The other molecules form the training pool; the training set of size N for repeat
r is the first N molecules of a permutation of the pool seeded by r, so a larger N
contains every smaller one of the same repeat. Each cell (model, N, repeat) runs
:func:`sklearn.model_selection.cross_validate` with that one predefined
(train, test) split, so a user's own ``cross_validate`` or ``learning_curve`` call
with the same ``cv`` reproduces it. A model whose ``random_state`` is left unset
(the network) is seeded with r, so every cell is reproducible.

Every model is told the elements of the whole dataset (for QM9: H, C, N, O, F) with
:func:`acn_sklearn.registry.set_elements`, so a small training set that happens to
miss fluorine still yields predictions for test molecules that contain it. This is
the chemical space, not information about test targets.

Finished cells are cached on disk with :class:`joblib.Memory`, so an interrupted or
repeated run only computes what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.model_selection import cross_validate

from . import __version__
from .registry import make_model, set_elements

__all__ = ["Cell", "fit_power_law", "held_out_split", "run_cells", "summarise"]


def held_out_split(
    n_molecules: int, n_train: int, *, n_test: int, test_seed: int, repeat: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of one cell of the protocol.

    Parameters
    ----------
    n_molecules : int
        Size of the dataset.
    n_train : int
        Training-set size N.
    n_test : int
        Size of the fixed test set.
    test_seed : int
        Seed of the test set; the same seed gives the same test set.
    repeat : int
        Seed of the training subset drawn from the pool.

    Returns
    -------
    train, test : ndarray of int

    Raises
    ------
    ValueError
        If N is larger than the training pool.
    """
    order = np.random.default_rng(test_seed).permutation(n_molecules)
    test, pool = order[:n_test], order[n_test:]
    if not 1 <= n_train <= len(pool):
        raise ValueError(
            f"training size {n_train} is not in [1, {len(pool)}]: the pool holds "
            f"{n_molecules} molecules minus the {n_test} of the test set"
        )
    train = np.random.default_rng(1000 + repeat).permutation(pool)[:n_train]
    return train, test


class _RecordingMAE:
    """An MAE scorer (sklearn's sign convention) that keeps the test predictions."""

    def __init__(self):
        self.predictions = None

    def __call__(self, estimator, X, y):
        self.predictions = np.asarray(estimator.predict(X))
        return -float(np.mean(np.abs(self.predictions - y)))


def _cell_model(spec: str, repeat: int):
    """The model of one cell; a ``random_state`` left unset is seeded with the repeat."""
    model = make_model(spec)
    if "random_state" in model.get_params(deep=False) and model.random_state is None:
        model.set_params(random_state=repeat)
    return model


def _model_key(spec: str, repeat: int) -> str:
    """What a cached cell depends on besides the data: the package version and every
    parameter of the model, defaults included, so changed defaults are recomputed."""
    params = _cell_model(spec, repeat).get_params(deep=True)
    plain = (int, float, str, bool, tuple, list, type(None))
    described = {
        key: value
        if isinstance(value, plain)
        else getattr(value, "__qualname__", type(value).__qualname__)
        for key, value in sorted(params.items())
    }
    return f"{__version__} {described!r}"


def _run_cell(spec: str, repeat: int, model_key: str, X, y, train: np.ndarray, test: np.ndarray):
    """Fit and score one cell; ``model_key`` (see :func:`_model_key`) only keys the cache."""
    scorer = _RecordingMAE()
    elements = np.unique(X[:, :, 0][X[:, :, 0] > 0])
    scores = cross_validate(
        set_elements(_cell_model(spec, repeat), elements),
        X,
        y,
        cv=[(train, test)],
        scoring=scorer,
        error_score="raise",
    )
    return {
        "mae": -float(scores["test_score"][0]),
        "fit_s": float(scores["fit_time"][0]),
        "predict_s": float(scores["score_time"][0]),
        "test_indices": test,
        "predictions": scorer.predictions,
    }


@dataclass
class Cell:
    """One (model, N, repeat) result: test MAE, wall times and test predictions."""

    model: str
    n_train: int
    repeat: int
    mae: float
    fit_s: float
    predict_s: float
    test_indices: np.ndarray = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    cached: bool = False


def run_cells(
    models: Iterable[str],
    sizes: Iterable[int],
    X: np.ndarray,
    y: np.ndarray,
    *,
    repeats: int = 1,
    n_test: int = 2000,
    test_seed: int = 0,
    cache_dir: str | Path | None = None,
    on_cell: Callable[[Cell, int, int, float], None] | None = None,
) -> list[Cell]:
    """Fit and score every (model, N, repeat) cell of a learning curve.

    Parameters
    ----------
    models : iterable of str
        Model specs (see :func:`acn_sklearn.registry.make_model`).
    sizes : iterable of int
        Training-set sizes N.
    X : ndarray of shape (n_molecules, max_atoms, 4)
        All molecules (test set and training pool).
    y : ndarray of shape (n_molecules,) or (n_molecules, n_targets)
        Their targets.
    repeats : int, default=1
        Training subsets per N (different molecules, same test set).
    n_test : int, default=2000
        Size of the held-out test set.
    test_seed : int, default=0
        Seed of the test set.
    cache_dir : path, optional
        Where finished cells are cached; None computes everything.
    on_cell : callable, optional
        Called as ``on_cell(cell, done, total, elapsed_s)`` after each cell.

    Returns
    -------
    list of Cell
    """
    models, sizes = list(models), sorted(set(sizes))
    for spec in models:
        make_model(spec)  # fail on a bad spec before hours of work
    for n in sizes:
        held_out_split(len(X), n, n_test=n_test, test_seed=test_seed, repeat=0)
    run = Memory(cache_dir, verbose=0).cache(_run_cell) if cache_dir else _run_cell
    jobs = [(spec, n, r) for n in sizes for spec in models for r in range(repeats)]
    cells, start = [], time.perf_counter()
    for done, (spec, n, r) in enumerate(jobs, start=1):
        train, test = held_out_split(len(X), n, n_test=n_test, test_seed=test_seed, repeat=r)
        key = _model_key(spec, r)
        args = (spec, r, key, X, y, train, test)
        cached = cache_dir is not None and run.check_call_in_cache(*args)
        result = run(*args)
        cells.append(Cell(model=spec, n_train=n, repeat=r, cached=cached, **result))
        if on_cell is not None:
            on_cell(cells[-1], done, len(jobs), time.perf_counter() - start)
    return cells


def fit_power_law(sizes, maes) -> tuple[float, float]:
    """Fit ``MAE = a / N**b`` by least squares in log-log space; returns ``(a, b)``."""
    slope, intercept = np.polyfit(np.log(sizes), np.log(maes), 1)
    return float(np.exp(intercept)), float(-slope)


def summarise(cells: list[Cell]) -> list[dict]:
    """Mean and standard deviation of MAE and times over repeats, per model and N."""
    rows = []
    model_order = list(dict.fromkeys(c.model for c in cells))
    keys = sorted(
        {(c.model, c.n_train) for c in cells}, key=lambda k: (k[1], model_order.index(k[0]))
    )
    for model, n in keys:
        group = [c for c in cells if (c.model, c.n_train) == (model, n)]
        maes = np.array([c.mae for c in group])
        rows.append(
            {
                "model": model,
                "n_train": n,
                "repeats": len(group),
                "mae": float(maes.mean()),
                "mae_std": float(maes.std(ddof=1)) if len(maes) > 1 else 0.0,
                "fit_s": float(np.mean([c.fit_s for c in group])),
                "predict_s": float(np.mean([c.predict_s for c in group])),
            }
        )
    return rows


def cell_record(cell: Cell) -> dict:
    """A JSON-ready dict of a cell (predictions included)."""
    record = asdict(cell)
    record["test_indices"] = cell.test_indices.tolist()
    record["predictions"] = np.asarray(cell.predictions).tolist()
    return record
