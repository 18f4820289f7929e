"""Mean absolute errors of molecular and of per-atom targets.

Molecular targets have one value per molecule (y of shape (n_molecules,) or, for
several targets, (n_molecules, n_targets)): the MAE averages every entry. Per-atom
targets (partial charges) have one value per atom slot of X, y of shape
(n_molecules, max_atoms): the MAE averages the real atoms only, so padding neither
counts as a perfect prediction nor dilutes the error. Which rule applies is the
model's: catalogue entries declare ``targets="atomic"``
(:class:`~acn_sklearn.registry.ModelEntry`), and :func:`mae_scorer` is told.
"""

from __future__ import annotations

import numpy as np

from .molecules import check_molecules

__all__ = ["mae_scorer", "mean_absolute_error"]


def mean_absolute_error(y_true, y_pred, *, X=None) -> float:
    """MAE of molecular targets, or with ``X`` of per-atom targets over real atoms.

    Parameters
    ----------
    y_true, y_pred : array-like
        Of the same shape: (n_molecules,) or (n_molecules, n_targets); with
        ``X``, (n_molecules, max_atoms) aligned with the atoms of X.
    X : array-like of shape (n_molecules, max_atoms, 4), or sequence, default=None
        The molecules of per-atom targets; None for molecular targets.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the shapes differ, or with ``X``, are not (n_molecules, max_atoms).

    Examples
    --------
    >>> import numpy as np
    >>> from acn_sklearn.scoring import mean_absolute_error
    >>> X = np.array([[[1, 0.0, 0.0, 0.0], [1, 0.74, 0.0, 0.0], [0, 0.0, 0.0, 0.0]]])
    >>> mean_absolute_error([[0.1, -0.1, 0.0]], [[0.2, -0.2, 5.0]], X=X)
    0.1
    """
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    errors = np.abs(y_pred - y_true)
    if X is None:
        return float(errors.mean())
    X = check_molecules(X)
    if y_true.shape != X.shape[:2]:
        raise ValueError(
            f"per-atom y must have shape (n_molecules, max_atoms) = {X.shape[:2]}; "
            f"got {y_true.shape}"
        )
    return float(errors[X[:, :, 0] > 0].mean())


def mae_scorer(*, atomic: bool = False):
    """A scorer ``scorer(estimator, X, y)`` of the negative MAE, sklearn's sign convention.

    Parameters
    ----------
    atomic : bool, default=False
        Per-atom targets: the MAE over the real atoms of X only.

    Returns
    -------
    callable
        Usable as ``scoring=`` of ``cross_validate``, ``GridSearchCV`` or
        ``OptunaSearchCV``.
    """

    def neg_mae(estimator, X, y):
        return -mean_absolute_error(y, estimator.predict(X), X=X if atomic else None)

    return neg_mae
