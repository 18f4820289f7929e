"""Kernel ridge regression of per-atom properties (charges) from atomic environments."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..atomic import AtomRegressorMixin, check_atom_targets
from ..domain import TrainingDomain
from ..molecules import check_molecules, checked, elements_in, n_atoms
from ._krr import KernelRidgeRegressor


class AtomKernelRidge(AtomRegressorMixin, BaseEstimator):
    """Per-atom kernel ridge regression: one Gaussian KRR per element on atomic environments.

    Each atom is one sample: its environment (a row of a per-atom representation
    such as :class:`~acn_sklearn.FCHL19`) and its target (a partial charge). Atoms
    are compared only with atoms of the same element: each element has its own
    :class:`KernelRidgeRegressor` (Gaussian kernel, the element's training mean
    as baseline, sigma and alpha chosen by leave-one-out over its training atoms).

    Parameters
    ----------
    representation : transformer
        Maps molecules to arrays (n_molecules, n_rows, 1 + n_features) of rows
        ``[Z, environment...]``, atoms in the order of X, padding rows zero
        (:class:`~acn_sklearn.FCHL19`); cloned at fit.
    sigma : float, "auto" or array-like of float, default="auto"
        Kernel width, or candidates chosen by leave-one-out per element (see
        :class:`KernelRidgeRegressor`).
    alpha : float, "auto" or array-like of float, default="auto"
        Regularization, or candidates, as for ``sigma``.
    molecule_total : float or None, default=None
        If set, each molecule's predictions are shifted, the same amount on each
        of its atoms, to sum to this value (0 for the partial charges of neutral
        molecules, as all of QM9's).
    max_memory : int, default=None
        Bytes one element's training kernel may use (None: what is available).

    Attributes
    ----------
    representation_ : transformer
        The fitted representation.
    regressors_ : dict of int to KernelRidgeRegressor
        The fitted regressor of each element with training atoms.
    atom_mean_ : float
        Mean target of all training atoms: the prediction for atoms of an
        element declared to the representation but absent from training (they
        also raise a :class:`~acn_sklearn.domain.DomainWarning`; see Notes for
        their standard deviation).
    training_domain_ : TrainingDomain
        What the training molecules covered.

    Notes
    -----
    Leave-one-out here leaves one atom out: the other atoms of its molecule stay
    in training, so the chosen sigma and alpha favour fitting closely a little.

    An atom's standard deviation is its element regressor's calibrated
    Gaussian-process std, ``std_scale_ * sqrt(1 - ||L^-1 k_x||^2)`` (the Gaussian
    kernel's self-kernel is 1): at most the prior std ``std_scale_``, which an
    environment infinitely far from every training atom of the element gets. An
    atom of an element without training atoms is known no better than such an
    environment of any element, so it gets the largest of the elements' prior
    stds: at least the std of every other atom.
    """

    _parameter_constraints: ClassVar[dict] = {
        "representation": [HasMethods(["fit", "transform"])],
        "sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), "array-like"],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}), "array-like"],
        "molecule_total": [Real, None],
        "max_memory": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self, representation, *, sigma="auto", alpha="auto", molecule_total=None, max_memory=None
    ):
        self.representation = representation
        self.sigma = sigma
        self.alpha = alpha
        self.molecule_total = molecule_total
        self.max_memory = max_memory

    def _environments(self, X):
        """Representation rows of the atoms of X, and the atoms' Z in X's layout.

        The representation may have more rows than X (the width of the training
        molecules) or fewer (its largest molecule): beyond either, rows are padding.
        """
        with checked(X):
            R = self.representation_.transform(X)
        Z = X[:, : R.shape[1], 0]
        return R[:, : X.shape[1], 1:], Z

    def fit(self, X, y):
        """Fit one regressor per element on the atoms of X.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Training molecules.
        y : array-like of shape (n_molecules, max_atoms)
            Per-atom targets aligned with the atoms of X (for a sequence of
            molecules, max_atoms is its largest molecule's); padding is ignored.

        Returns
        -------
        self : AtomKernelRidge
        """
        self._validate_params()
        X = check_molecules(X)
        y = check_atom_targets(y, X)
        self.training_domain_ = TrainingDomain.of(X)
        with checked(X):
            self.representation_ = clone(self.representation).fit(X)
        environments, Z = self._environments(X)
        rows = environments.shape[1]
        self.atom_mean_ = float(y[X[:, :, 0] > 0].mean())
        self.regressors_ = {}
        for element in elements_in(X):
            atoms = Z == element
            krr = KernelRidgeRegressor(
                kernel="gaussian",
                sigma=self.sigma,
                alpha=self.alpha,
                baseline="mean",
                max_memory=self.max_memory,
            )
            self.regressors_[int(element)] = krr.fit(environments[atoms], y[:, :rows][atoms])
        return self

    def predict(self, X, return_std=False):
        """Predict the per-atom targets of X.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        return_std : bool, default=False
            Also return each atom's standard deviation: the calibrated
            Gaussian-process std of its element's regressor, or for an element
            without training atoms the largest prior std of the regressors
            (see Notes); the shift to ``molecule_total`` is left out of it.

        Returns
        -------
        y : ndarray of shape (n_molecules, max_atoms)
            Aligned with the atoms of X, 0 at padding; each molecule summing to
            ``molecule_total`` if that is set.
        y_std : ndarray of shape (n_molecules, max_atoms)
            Only with ``return_std=True``; 0 at padding.
        """
        check_is_fitted(self)
        X = check_molecules(X)
        self.training_domain_.warn(X, type(self).__name__)
        environments, Z = self._environments(X)
        rows = environments.shape[1]
        real = X[:, :, 0] > 0
        y = np.where(real, self.atom_mean_, 0.0)
        # what an element without training atoms keeps: the largest prior std
        prior = max(krr.std_scale_ for krr in self.regressors_.values())
        std = np.where(real, prior, 0.0)
        for element, krr in self.regressors_.items():
            atoms = Z == element
            if atoms.any() and return_std:
                y[:, :rows][atoms], std[:, :rows][atoms] = krr.predict(
                    environments[atoms], return_std=True
                )
            elif atoms.any():
                y[:, :rows][atoms] = krr.predict(environments[atoms])
        if self.molecule_total is not None:
            excess = (y.sum(axis=1) - self.molecule_total) / n_atoms(X)
            y -= np.where(real, excess[:, None], 0.0)
        return (y, std) if return_std else y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.three_d_array = True
        return tags
