"""Deep ensembles: several copies of one network, differently seeded, averaged.

A network trained to near-zero training error on a few thousand molecules
still disagrees with a second copy trained from another random start: much of
its test error is variance. Averaging the copies removes part of it and their
spread is a cheap uncertainty estimate (Lakshminarayanan et al., 2017).
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

__all__ = ["DeepEnsembleRegressor"]


class DeepEnsembleRegressor(RegressorMixin, BaseEstimator):
    """Average of ``n_members`` clones of a regressor that differ only in their seed.

    Unlike :class:`sklearn.ensemble.BaggingRegressor`, every member sees all
    training molecules (no resampling) and the input is passed on unchanged, so
    any molecule format the member accepts works. With a seeded network each
    member also draws its own validation split for early stopping, so together
    the members learn from every training molecule.

    Parameters
    ----------
    estimator : estimator
        The member, e.g. :class:`~acn_sklearn.ACNRegressor`; it must have a
        ``random_state`` parameter.
    n_members : int, default=4
        Number of members.
    random_state : int or None, default=None
        Member ``k`` gets ``random_state + k``; ``None`` leaves every member
        unseeded.
    n_jobs : int or None, default=None
        Members fitted in parallel (joblib processes); ``None`` means one at
        a time. With networks, keep each member's own ``n_jobs`` at one thread.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members.

    Examples
    --------
    >>> from acn_sklearn import ACNRegressor
    >>> from acn_sklearn.ensemble import DeepEnsembleRegressor
    >>> model = DeepEnsembleRegressor(ACNRegressor(), n_members=4, random_state=0)
    >>> model.fit(X, y).predict(X[:5], return_std=True)  # doctest: +SKIP
    """

    def __init__(self, estimator, *, n_members=4, random_state=None, n_jobs=None):
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y, **fit_params):
        """Fit every member on all of ``X, y``.

        Parameters
        ----------
        X : molecules in any format the member accepts
        y : array-like of shape (n_molecules,) or (n_molecules, n_outputs)
        **fit_params
            Passed to every member's ``fit``.

        Returns
        -------
        self
        """
        if not (isinstance(self.n_members, int | np.integer) and self.n_members >= 1):
            raise ValueError(f"n_members must be an integer >= 1, got {self.n_members!r}")
        if "random_state" not in self.estimator.get_params():
            raise ValueError(
                f"DeepEnsembleRegressor varies its members' random_state, but "
                f"{type(self.estimator).__name__} has no random_state parameter"
            )
        members = []
        for k in range(self.n_members):
            seed = None if self.random_state is None else self.random_state + k
            members.append(clone(self.estimator).set_params(random_state=seed))
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(member.fit)(X, y, **fit_params) for member in members
        )
        return self

    def predict(self, X, return_std=False):
        """Mean prediction of the members.

        Parameters
        ----------
        X : molecules in any format the member accepts
        return_std : bool, default=False
            Also return the standard deviation across members, a measure of
            how much the members disagree (not a calibrated error bar).

        Returns
        -------
        y_mean : ndarray of shape (n_molecules,) or (n_molecules, n_outputs)
        y_std : ndarray of the same shape, only with ``return_std=True``
        """
        check_is_fitted(self, "estimators_")
        predictions = np.stack([member.predict(X) for member in self.estimators_])
        mean = predictions.mean(axis=0)
        return (mean, predictions.std(axis=0)) if return_std else mean
