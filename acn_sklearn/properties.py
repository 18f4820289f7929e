"""Properties that follow exactly from the geometry: the rotational constants A, B, C.

A molecule's rotational constants are ``h / (8 pi^2 I)`` for its three principal
moments of inertia I, so they need the coordinates and the masses, no fitted model.
QM9 computed them with the mass of each element's most abundant isotope (Gaussian's
default), which this module uses too: on QM9 the constants agree with QM9's A, B, C
columns to the digits QM9 stores (``docs/models.rst``). :class:`RotationalConstants`
is the same function as a scikit-learn regressor, so learning curves and the command
line can score it beside the learned models.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import scipy.constants
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .molecules import check_molecules, check_targets

__all__ = ["ISOTOPE_MASSES", "RotationalConstants", "rotational_constants"]

#: Mass (u) of the most abundant isotope of each element QM9 contains (AME2016, as
#: listed by NIST's "Atomic Weights and Isotopic Compositions").
ISOTOPE_MASSES = {
    1: 1.00782503223,
    6: 12.0,
    7: 14.00307400443,
    8: 15.99491461957,
    9: 18.99840316273,
}
#: h / (8 pi^2) in GHz u Angstrom^2: a moment of inertia I (u Angstrom^2) gives the
#: rotational constant GHZ_U_ANGSTROM2 / I in GHz.
GHZ_U_ANGSTROM2 = scipy.constants.h / (8 * np.pi**2 * scipy.constants.atomic_mass * 1e-20) / 1e9
#: A principal moment below this (u Angstrom^2), that of one hydrogen atom 0.022 Angstrom
#: off an axis, is taken as zero: the molecule is linear.
LINEAR_MOMENT = 5e-4
_NAMES = ("A", "B", "C")


def rotational_constants(X) -> np.ndarray:
    """Rotational constants A >= B >= C of molecules, in GHz.

    Parameters
    ----------
    X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        Molecules in any format :func:`~acn_sklearn.molecules.check_molecules`
        accepts; coordinates in Angstrom.

    Returns
    -------
    ndarray of shape (n_molecules, 3)
        ``h / (8 pi^2 I)`` for the principal moments of inertia about the centre
        of mass, with the masses of the most abundant isotopes
        (:data:`ISOTOPE_MASSES`). For a linear molecule the moment about its
        axis is zero and A is 0, QM9's convention.

    Raises
    ------
    ValueError
        For invalid molecules, or an element without a mass in
        :data:`ISOTOPE_MASSES`, naming the molecule.

    Examples
    --------
    >>> import numpy as np
    >>> from acn_sklearn.properties import rotational_constants
    >>> water = np.array([[[8, 0.0, 0.0, 0.1173], [1, 0.0, 0.7572, -0.4692],
    ...                    [1, 0.0, -0.7572, -0.4692]]])
    >>> np.round(rotational_constants(water), 1)
    array([[820.8, 437.3, 285.3]])
    """
    X = check_molecules(X)
    Z = X[:, :, 0].astype(int)
    table = np.zeros(max(Z.max(), *ISOTOPE_MASSES) + 1)
    table[list(ISOTOPE_MASSES)] = list(ISOTOPE_MASSES.values())
    masses = table[Z]
    unknown = (Z > 0) & (masses == 0)
    if unknown.any():
        i = int(np.flatnonzero(unknown.any(axis=1))[0])
        raise ValueError(
            f"molecule {i}: element Z={int(Z[unknown][0])} has no isotope mass; "
            f"rotational constants know Z in {sorted(ISOTOPE_MASSES)}"
        )
    R = X[:, :, 1:]
    centre = np.einsum("ma,mak->mk", masses, R) / masses.sum(axis=1, keepdims=True)
    R = (R - centre[:, None, :]) * (Z > 0)[:, :, None]
    weighted = masses[:, :, None] * R
    inertia = np.einsum("ma,mak,mak->m", masses, R, R)[:, None, None] * np.eye(3)
    inertia -= np.einsum("mak,mal->mkl", weighted, R)
    moments = np.linalg.eigvalsh(inertia)  # ascending: A, B, C
    constants = np.zeros_like(moments)
    nonzero = moments > LINEAR_MOMENT
    constants[nonzero] = GHZ_U_ANGSTROM2 / moments[nonzero]
    return constants


class RotationalConstants(RegressorMixin, BaseEstimator):
    """The rotational constants of molecules as a regressor that learns nothing.

    :func:`rotational_constants` behind ``fit``/``predict``: ``fit`` only checks
    the molecules and the shape of y, so the constants can be scored by
    ``cross_validate``, learning curves and the command line like any model.

    Parameters
    ----------
    target : {"A", "B", "C"}, list of them or None, default=None
        The constant(s) to predict: one name gives y of shape (n_molecules,),
        a list (n_molecules, n_targets); None: all three, ``["A", "B", "C"]``.

    Attributes
    ----------
    n_targets_ : int
        Columns of the prediction (0 for one name: 1-D y).

    Examples
    --------
    >>> import numpy as np
    >>> from acn_sklearn.properties import RotationalConstants
    >>> water = np.array([[[8, 0.0, 0.0, 0.1173], [1, 0.0, 0.7572, -0.4692],
    ...                    [1, 0.0, -0.7572, -0.4692]]])
    >>> RotationalConstants(target=["B", "C"]).fit(water).predict(water).round(1)
    array([[437.3, 285.3]])
    """

    _parameter_constraints: ClassVar[dict] = {"target": [str, list, tuple, None]}

    def __init__(self, target=None):
        self.target = target

    def _names(self):
        if self.target is None:
            return list(_NAMES)
        return [self.target] if isinstance(self.target, str) else list(self.target)

    def _columns(self):
        names = self._names()
        unknown = [name for name in names if name not in _NAMES]
        if unknown or not names:
            raise ValueError(f"target must be among {list(_NAMES)}; got {self.target!r}")
        return [_NAMES.index(name) for name in names]

    def fit(self, X, y=None):
        """Check the molecules and y; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        y : array-like of shape (n_molecules,) or (n_molecules, n_targets), default=None
            If given, its shape must match ``target``.

        Returns
        -------
        self : RotationalConstants
        """
        self._validate_params()
        self._columns()
        X = check_molecules(X)
        single = isinstance(self.target, str)
        if y is not None:
            y = check_targets(y, len(X))
            expected = (len(X),) if single else (len(X), len(self._names()))
            if y.shape != expected:
                raise ValueError(f"y has shape {y.shape}; target={self.target!r} gives {expected}")
        self.n_targets_ = 0 if single else len(self._names())
        return self

    def predict(self, X, return_std=False):
        """The rotational constants ``target`` of X, in GHz.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        return_std : bool, default=False
            Also return their standard deviations: zero, as they are exact.

        Returns
        -------
        y : ndarray of shape (n_molecules,) or (n_molecules, n_targets)
        y_std : ndarray of the same shape, zeros, only with ``return_std=True``
        """
        check_is_fitted(self)
        constants = rotational_constants(X)[:, self._columns()]
        y = constants[:, 0] if isinstance(self.target, str) else constants
        return (y, np.zeros_like(y)) if return_std else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        tags.target_tags.multi_output = True
        tags.input_tags.three_d_array = True
        return tags
