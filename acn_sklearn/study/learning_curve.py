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
repeated run only computes what is missing. With a cache, a network cell also saves
its training state after every epoch (its ``checkpoint_dir``, in the cache folder's
``checkpoints``): an interrupted cell resumes at its last epoch, so a fit of hours
(all of QM9) can run in several parts. A fit that was interrupted is never scored
or cached.

A cell whose kernel matrices would not fit in memory (exact kernel ridge
regression at large N: ``N x N`` float64 entries, see
:meth:`~acn_sklearn.kernel_ridge.KernelRidgeRegressor.kernel_memory`) is not
started: it is returned as skipped, with the reason and the memory it would need,
and so is a cell whose fit runs out of memory. Cells run through
:class:`joblib.Parallel`, so ``joblib.parallel_config(backend="dask")`` with a
``dask.distributed`` client spreads them over a cluster.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
from joblib import Memory, Parallel, delayed, parallel_config
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline

from .. import __version__
from ..domain import DomainWarning
from ..kernel_ridge._memory import available_memory
from ..molecules import elements_in
from ..registry import make_model, model_entry, set_elements, set_target
from ..scoring import mean_absolute_error
from .protocol import held_out_split

__all__ = ["Cell", "cell_memory", "run_cells"]


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


def _cell_model(spec: str, repeat: int, target: str | None = None):
    """The model of one cell; a ``random_state`` left unset is seeded with the repeat, and
    a model that reads the target's name (ACN's heads) is told it."""
    model = make_model(spec)
    if target is not None:
        set_target(model, target)
    if "random_state" in model.get_params(deep=False) and model.random_state is None:
        model.set_params(random_state=repeat)
    return model


def _model_key(spec: str, repeat: int, target: str | None = None) -> str:
    """What a cached cell depends on besides the data: the package version and every
    parameter of the model, defaults included, so changed defaults are recomputed."""
    params = _cell_model(spec, repeat, target).get_params(deep=True)
    plain = (int, float, str, bool, tuple, list, type(None))
    described = {
        key: value
        if isinstance(value, plain)
        else getattr(value, "__qualname__", type(value).__qualname__)
        for key, value in sorted(params.items())
    }
    return f"{__version__} {described!r}"


def _run_cell(
    spec: str,
    repeat: int,
    model_key: str,
    X,
    y,
    train: np.ndarray,
    test: np.ndarray,
    target: str | None = None,
    checkpoints: str | None = None,
):
    """Fit and score one cell; ``model_key`` (see :func:`_model_key`) only keys the cache.

    ``checkpoints``: the folder under which a network cell keeps its checkpoint
    (not part of the cache key).
    """
    scorer = _RecordingMAE(atomic=model_entry(spec).targets == "atomic")
    model = set_elements(_cell_model(spec, repeat, target), elements_in(X))
    resumable = checkpoints is not None and "checkpoint_dir" in model.get_params(deep=False)
    if resumable:
        model.set_params(checkpoint_dir=str(Path(checkpoints) / joblib.hash((model_key, train))))
    # The one split runs here, not as a task of an enclosing parallel backend (Dask
    # would score on a copy of the scorer, and the predictions would be lost).
    with warnings.catch_warnings(), parallel_config(backend="sequential"):
        # At small N some held-out molecules of the same data set are larger than every
        # training molecule: measuring that is the point of the curve, not a user's
        # extrapolation to warn about.
        warnings.simplefilter("ignore", DomainWarning)
        scores = cross_validate(
            model,
            X,
            y,
            cv=[(train, test)],
            scoring=scorer,
            error_score="raise",
            return_estimator=True,
        )
    if getattr(scores["estimator"][0], "interrupted_", False):
        # skorch ends a fit quietly on Ctrl-C; the cell is not done (its checkpoint is).
        raise KeyboardInterrupt(f"{spec} at N = {len(train)} was interrupted")
    return {
        "mae": -float(scores["test_score"][0]),
        "fit_s": float(scores["fit_time"][0]),
        "predict_s": float(scores["score_time"][0]),
        "test_indices": test,
        "predictions": scorer.predictions,
    }


def _run_or_skip(run, *args):
    """``run(*args)``, or the reason it ran out of memory (never cached)."""
    try:
        return run(*args)
    except MemoryError as error:
        return {"skipped": f"out of memory: {error}"}


def cell_memory(model, n_train: int) -> int:
    """Bytes of the ``N x N`` kernel matrices fitting ``model`` on ``n_train`` needs.

    The sum of :meth:`~acn_sklearn.kernel_ridge.KernelRidgeRegressor.kernel_memory`
    over the model's steps; 0 for models without an exact kernel (the network,
    Nystroem KRR), whose memory does not grow with N squared.

    Parameters
    ----------
    model : estimator or Pipeline
    n_train : int
        Training-set size N.

    Returns
    -------
    int
    """
    steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else [model]
    return sum(step.kernel_memory(n_train) for step in steps if hasattr(step, "kernel_memory"))


def _gb(n_bytes: int) -> str:
    """``97.2 GiB``, or in the largest binary unit below a GiB for small sizes."""
    for power, unit in ((30, "GiB"), (20, "MiB"), (10, "KiB")):
        if n_bytes >= 2**power or power == 10:
            return f"{n_bytes / 2**power:,.1f} {unit}"


@dataclass
class Cell:
    """One (model, N, repeat) result: test MAE, wall times and test predictions.

    A skipped cell (``skipped`` names why) has a NaN MAE, zero times and no
    predictions; ``memory_needed`` is what its kernel matrices would need.
    """

    model: str
    n_train: int
    repeat: int
    mae: float
    fit_s: float
    predict_s: float
    test_indices: np.ndarray = field(repr=False)
    predictions: np.ndarray = field(repr=False)
    cached: bool = False
    skipped: str = ""
    memory_needed: int = 0

    @classmethod
    def skip(cls, model, n_train, repeat, test_indices, reason, memory_needed=0):
        """A cell that was not run, and why.

        Parameters
        ----------
        model : str
            Model spec.
        n_train, repeat : int
            Training-set size and repeat.
        test_indices : ndarray of int
            The held-out molecules it would have been scored on.
        reason : str
            Why it was skipped, e.g. ``"needs 90.2 GiB for its kernel matrices,
            21.3 GiB available"``.
        memory_needed : int, default=0
            Bytes its kernel matrices would need.

        Returns
        -------
        Cell
        """
        return cls(
            model=model,
            n_train=n_train,
            repeat=repeat,
            mae=float("nan"),
            fit_s=0.0,
            predict_s=0.0,
            test_indices=test_indices,
            predictions=np.empty(0),
            skipped=reason,
            memory_needed=memory_needed,
        )


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
    max_memory: int | None = None,
    n_jobs: int | None = None,
    target: str | None = None,
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
        Where finished cells are cached, and network cells keep their
        checkpoints (``cache_dir/checkpoints``); None computes everything.
    on_cell : callable, optional
        Called as ``on_cell(cell, done, total, elapsed_s)`` after each cell, in
        the order of the returned list.
    max_memory : int, optional
        Bytes a cell's kernel matrices may use; None: the memory available
        when the cells are planned. A cell needing more (:func:`cell_memory`)
        is skipped, unless it is cached.
    n_jobs : int, optional
        Cells run at once, by :class:`joblib.Parallel` (None: 1, or what an
        enclosing :func:`joblib.parallel_config` says, e.g. ``n_jobs=-1`` with
        ``backend="dask"`` for every worker of a Dask cluster). Memory is
        checked per cell: cells that run at once on one machine share it.
    target : str, optional
        The target's name, told to models that read it
        (:func:`acn_sklearn.registry.set_target`): ``"mu"`` gives ACN its dipole head.

    Returns
    -------
    list of Cell
        Every (model, N, repeat), ordered by N, model, repeat; skipped ones
        included.
    """
    models, sizes = list(models), sorted(set(sizes))
    for spec in models:
        make_model(spec)  # fail on a bad spec before hours of work
    for n in sizes:
        held_out_split(len(X), n, n_test=n_test, test_seed=test_seed, repeat=0)
    run = _run_cell
    checkpoints = None
    if cache_dir is not None:
        run = Memory(cache_dir, verbose=0).cache(_run_cell, ignore=["checkpoints"])
        checkpoints = str(Path(cache_dir) / "checkpoints")
    budget = available_memory() if max_memory is None else int(max_memory)
    plan = []  # (spec, n, r, args, cached, skip reason, memory needed)
    for n in sizes:
        for spec in models:
            for r in range(repeats):
                train, test = held_out_split(
                    len(X), n, n_test=n_test, test_seed=test_seed, repeat=r
                )
                key = _model_key(spec, r, target)
                args = (spec, r, key, X, y, train, test, target, checkpoints)
                cached = cache_dir is not None and run.check_call_in_cache(*args)
                need = cell_memory(_cell_model(spec, r, target), n)
                reason = ""
                if need > budget and not cached:
                    reason = f"needs {_gb(need)} for its kernel matrices, {_gb(budget)} available"
                plan.append((spec, n, r, args, cached, reason, need))
    results = iter(
        Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_run_or_skip)(run, *args) for *_, args, _, reason, _ in plan if not reason
        )
    )
    cells, start = [], time.perf_counter()
    for done, (spec, n, r, args, cached, reason, need) in enumerate(plan, start=1):
        result = {"skipped": reason} if reason else next(results)
        if "skipped" in result:
            cell = Cell.skip(spec, n, r, args[6], result["skipped"], need)
        else:
            cell = Cell(model=spec, n_train=n, repeat=r, cached=cached, **result)
        cells.append(cell)
        if on_cell is not None:
            on_cell(cell, done, len(plan), time.perf_counter() - start)
    return cells
