"""Model factories: a representation and kernel ridge regression in one Pipeline.

The defaults were chosen by 5-fold cross-validation on QM9 training molecules only
(never the benchmark's test set): ``benchmarks/select_kernel_hyperparameters.py``,
results in ``docs/benchmarks/kernels_selection.md``. Every parameter stays
reachable by its nested name (``krr__sigma``, ``cm__sorting``, ``slatm__rcut``...),
so ``GridSearchCV`` and Optuna searches work as for any sklearn pipeline.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline

from .kernel_ridge import KernelRidgeRegressor
from .representations import FCHL19, SLATM, CoulombMatrix

__all__ = ["make_cm_krr", "make_fchl19_krr", "make_slatm_krr"]

#: Largest QM9 molecule; the Coulomb matrix size of :func:`make_cm_krr`.
QM9_MAX_ATOMS = 29


def make_cm_krr(**params) -> Pipeline:
    """Coulomb matrix + Laplacian kernel ridge regression (the paper's baseline).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__sigma=3000``,
        ``cm__n_jobs=2``, ``cm__memory="cache/"``.

    Returns
    -------
    Pipeline
        Steps ``cm``: ``CoulombMatrix(size=29)`` (row-norm sorted; 29 atoms, the
        largest QM9 molecule, so test molecules larger than every training
        molecule are still represented; ``cm__size=None`` learns the size from
        the training molecules) and ``krr``:
        ``KernelRidgeRegressor(kernel="laplacian", sigma=..., alpha=...)``.

    Examples
    --------
    >>> from acn_sklearn import make_cm_krr
    >>> model = make_cm_krr(krr__sigma=1000.0)
    >>> model.get_params()["krr__kernel"]
    'laplacian'
    """
    model = Pipeline([
        ("cm", CoulombMatrix(size=QM9_MAX_ATOMS)),
        ("krr", KernelRidgeRegressor(kernel="laplacian", sigma=3000.0, alpha=1e-8)),
    ])
    return model.set_params(**params)


def make_slatm_krr(**params) -> Pipeline:
    """Global SLATM + Gaussian kernel ridge regression (the paper's state of the art).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__sigma=500``,
        ``slatm__n_jobs=2``, ``slatm__memory="cache/"``.

    Returns
    -------
    Pipeline
        Steps ``slatm``: ``SLATM()`` and ``krr``:
        ``KernelRidgeRegressor(kernel="gaussian", sigma=..., alpha=...)``.
    """
    model = Pipeline([
        ("slatm", SLATM()),
        ("krr", KernelRidgeRegressor(kernel="gaussian", sigma=1000.0, alpha=1e-8)),
    ])
    return model.set_params(**params)


def make_fchl19_krr(**params) -> Pipeline:
    """FCHL19 + local Gaussian kernel ridge regression (the strongest QML kernel model).

    Parameters
    ----------
    **params
        Nested parameters set on the pipeline, e.g. ``krr__sigma=4``,
        ``fchl19__n_jobs=2``.

    Returns
    -------
    Pipeline
        Steps ``fchl19``: ``FCHL19()`` and ``krr``:
        ``KernelRidgeRegressor(kernel="local_gaussian", sigma=..., alpha=...,
        baseline=None)``. The local kernel sums atomic contributions, so it
        models the extensive part of the energy itself; subtracting the mean
        made it worse.
    """
    model = Pipeline([
        ("fchl19", FCHL19()),
        ("krr", KernelRidgeRegressor(
            kernel="local_gaussian", sigma=8.0, alpha=1e-8, baseline=None)),
    ])
    return model.set_params(**params)
