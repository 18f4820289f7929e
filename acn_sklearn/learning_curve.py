"""Learning curves: every (model, N, repeat) cell fitted and scored the same way.

The split of each cell follows :func:`acn_sklearn.protocol.held_out_split`. Each
cell runs :func:`sklearn.model_selection.cross_validate` with that one predefined
(train, test) split, so a user's own ``cross_validate`` or ``learning_curve`` call
with the same ``cv`` reproduces it. A model whose ``random_state`` is left unset
(the network) is seeded with the repeat r, so every cell is reproducible.

Every model is told the elements of the whole dataset (for QM9: H, C, N, O, F) with
:func:`acn_sklearn.registry.set_elements`, so a small training set that happens to
miss fluorine still yields predictions for test molecules that contain it. This is
the chemical space, not information about test targets.

Finished cells are cached on disk with :class:`joblib.Memory`, so an interrupted or
repeated run only computes what is missing.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from joblib import Memory
from sklearn.model_selection import cross_validate

from . import __version__
from .domain import DomainWarning
from .molecules import elements_in
from .protocol import held_out_split
from .registry import make_model, model_entry, set_elements
from .scoring import mean_absolute_error

__all__ = ["Cell", "run_cells"]


class _RecordingMAE:
    """An MAE scorer (sklearn's sign convention) that keeps the test predictions.

    ``atomic``: per-atom targets, scored over the real atoms of X only.
    """

    def __init__(self, atomic=False):
        self.atomic = atomic
        self.predictions = None

    def __call__(self, estimator, X, y):
        self.predictions = np.asarray(estimator.predict(X))
        return -mean_absolute_error(y, self.predictions, X=X if self.atomic else None)


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
    scorer = _RecordingMAE(atomic=model_entry(spec).targets == "atomic")
    with warnings.catch_warnings():
        # At small N some held-out molecules of the same data set are larger than every
        # training molecule: measuring that is the point of the curve, not a user's
        # extrapolation to warn about.
        warnings.simplefilter("ignore", DomainWarning)
        scores = cross_validate(
            set_elements(_cell_model(spec, repeat), elements_in(X)),
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
        Their targets; for models of per-atom targets (catalogue entries with
        ``targets="atomic"``), shape (n_molecules, max_atoms) aligned with the
        atoms of X, and the MAE is over real atoms only.
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
