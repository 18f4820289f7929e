"""Atomic targets: one value per atom (partial charges), aligned with the molecules.

An atomic target ``y`` has shape ``(n_molecules, max_atoms)``, the first two
dimensions of the canonical molecule array ``X``: ``y[m, a]`` belongs to atom
``a`` of molecule ``m``, and the padding rows of ``X`` carry zeros (as
:func:`~acn_sklearn.datasets.load_qm9` returns ``mulliken_charges``). Models
predict the same shape, zero at padding, and are scored over the real atoms
only (:func:`acn_sklearn.scoring.mean_absolute_error` with ``X``,
:func:`acn_sklearn.scoring.mae_scorer` with ``atomic=True``).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score

from .molecules import check_molecules, checked

__all__ = ["AtomRegressorMixin", "atom_r2", "check_atom_targets"]


def check_atom_targets(y, X: np.ndarray) -> np.ndarray:
    """Validate atomic targets against their molecules.

    Parameters
    ----------
    y : array-like of shape (n_molecules, max_atoms)
        One value per atom of the canonical array ``X``; zero or NaN at its
        padding (the two usual fill values).
    X : ndarray of shape (n_molecules, max_atoms, 4)
        The validated canonical molecules.

    Returns
    -------
    ndarray of float64 of shape (n_molecules, max_atoms)
        Zero at padding.

    Raises
    ------
    ValueError
        For another shape, a NaN or infinite value at a real atom, or another
        value at padding, which means y and X are not aligned (naming the
        molecule and the atom).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.shape != X.shape[:2]:
        raise ValueError(
            f"atomic targets y must have shape (n_molecules, max_atoms) = {X.shape[:2]}, "
            f"one value per atom row of X; got shape {y.shape}"
        )
    real = X[:, :, 0] > 0
    for problem, bad in (
        ("y is NaN or infinite", real & ~np.isfinite(y)),
        (
            "y has a value at padding (for an atom that X does not have)",
            ~real & (y != 0) & ~np.isnan(y),
        ),
    ):
        if bad.any():
            m, a = np.argwhere(bad)[0]
            more = int(bad.any(axis=1).sum()) - 1
            suffix = f" ({more} more molecule(s) with the same problem)" if more else ""
            raise ValueError(f"molecule {m}, atom {a}: {problem}{suffix}")
    return np.where(real, y, 0.0)


def atom_r2(y_true, y_pred, X: np.ndarray) -> float:
    """Coefficient of determination R^2 over the real atoms of ``X`` (padding left out).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_molecules, max_atoms)
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Canonical molecules.

    Returns
    -------
    float
    """
    real = np.asarray(X)[:, :, 0] > 0
    return float(r2_score(np.asarray(y_true)[real], np.asarray(y_pred)[real]))


class AtomRegressorMixin(RegressorMixin):
    """``score`` of regressors of atomic targets: R^2 over the real atoms."""

    def score(self, X, y, sample_weight=None):
        """R^2 of :meth:`predict` over the real atoms of ``X`` (padding left out).

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        y : array-like of shape (n_molecules, max_atoms)
        sample_weight : None
            Not supported; must be None.

        Returns
        -------
        float
        """
        if sample_weight is not None:
            raise ValueError(f"{type(self).__name__}.score does not take sample_weight")
        X = check_molecules(X)
        y = check_atom_targets(y, X)
        with checked(X):
            return atom_r2(y, self.predict(X), X)
