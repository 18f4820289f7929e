"""What every representation transformer shares: validation, elements seen in fit, caching."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from ..molecules import (
    InvalidMoleculeError,
    check_elements,
    check_molecules,
    elements_in,
    n_atoms,
    to_zr,
)
from ._cache import represent

#: Parameter constraints of every representation: elements, parallelism, cache.
COMMON_CONSTRAINTS = {
    "elements": ["array-like", None],
    "n_jobs": [Integral, None],
    "memory": [None, str, HasMethods(["cache"])],
}


class MoleculeTransformer(TransformerMixin, BaseEstimator):
    """Base of the representations: molecules in (any accepted X format), arrays out.

    Subclasses define ``_represent_one`` (a module-level function
    ``(Z, R, **settings) -> ndarray``), ``_settings(X)`` (its keyword arguments
    for molecules X, available after fit) and ``_learn(X)`` (what ``fit`` learns
    beyond the elements, at least ``n_features_out_``).
    """

    def fit(self, X, y=None):
        """Learn the elements and what the representation needs from training molecules.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Training molecules.
        y : None
            Ignored.

        Returns
        -------
        self
            The fitted transformer.
        """
        self._validate_params()
        self._learn(self._fit_molecules(X))
        return self

    def _fit_molecules(self, X):
        """Validate training molecules; learn ``elements_`` and ``max_atoms_``."""
        X = check_molecules(X)
        declared = () if self.elements is None else self.elements
        self.elements_ = np.union1d(elements_in(X), np.asarray(declared, dtype=int))
        self.max_atoms_ = int(n_atoms(X).max())
        return X

    def _check_size(self, X, largest):
        counts = n_atoms(X)
        too_big = np.flatnonzero(counts > largest)
        if len(too_big):
            i = too_big[0]
            problem = f"more than the {largest} this {type(self).__name__} was fitted for"
            raise InvalidMoleculeError(
                f"molecule {i}: has {counts[i]} atoms, {problem}; set its size "
                f"parameter or fit on larger molecules ({len(too_big) - 1} more)",
                {j: f"has {counts[j]} atoms, {problem}" for j in too_big},
            )

    def _represent(self, X):
        return represent(
            to_zr(X),
            type(self)._represent_one,
            self._settings(X),
            n_jobs=self.n_jobs,
            memory=self.memory,
        )

    def transform(self, X):
        """Represent molecules.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any format :func:`~acn_sklearn.molecules.check_molecules`
            accepts.

        Returns
        -------
        ndarray
            One representation per molecule.

        Raises
        ------
        ValueError
            For invalid molecules, and molecules with an element or more atoms
            than the transformer was fitted for, naming the molecule.
        """
        check_is_fitted(self)
        X = check_molecules(X)
        check_elements(X, self.elements_, type(self).__name__)
        self._check_input_size(X)
        return self._represent(X)

    def _check_input_size(self, X):
        """Raise for molecules the fitted representation cannot hold (default: any fit)."""


class VectorRepresentation(MoleculeTransformer):
    """A representation with one vector per molecule: feature names, ``set_output``."""

    def get_feature_names_out(self, input_features=None):
        """Names of the output features: the lowercase class name and a number.

        Parameters
        ----------
        input_features : None
            Ignored; molecules have no input feature names.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self)
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(self.n_features_out_)], dtype=object)
