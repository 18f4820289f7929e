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
from sklearn.metrics import r2_score

__all__ = ["atom_r2", "check_atom_targets"]


def check_atom_targets(y, X: np.ndarray) -> np.ndarray:
    """Validate atomic targets against their molecules.

    Parameters
    ----------
    y : array-like of shape (n_molecules, max_atoms)
        One value per atom of the canonical array ``X``, zero at its padding.
    X : ndarray of shape (n_molecules, max_atoms, 4)
        The validated canonical molecules.

    Returns
    -------
    ndarray of float64 of shape (n_molecules, max_atoms)

    Raises
    ------
    ValueError
        For another shape, a NaN or infinite value at a real atom, or a non-zero
        value at padding (naming the molecule and the atom).
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
        ("y is not zero at padding (a value for an atom that X does not have)", ~real & (y != 0)),
    ):
        if bad.any():
            m, a = np.argwhere(bad)[0]
            more = int(bad.any(axis=1).sum()) - 1
            suffix = f" ({more} more molecule(s) with the same problem)" if more else ""
            raise ValueError(f"molecule {m}, atom {a}: {problem}{suffix}")
    return y


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
