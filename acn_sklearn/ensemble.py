"""Deep ensembles: several copies of one network, differently seeded, averaged.

A network trained to near-zero training error on a few thousand molecules
still disagrees with a second copy trained from another random start: much of
its test error is variance. Averaging the copies removes part of it and their
spread is a cheap uncertainty estimate (Lakshminarayanan et al., 2017).
Copies that also differ in a setting, such as the cutoff radius, err on more
different molecules, and their average gains more (``member_params``).

The spread becomes a predictive standard deviation through one scale per
target, fitted on the molecules each member held out for early stopping (its
``validation_indices_``): that member's error on them divided by the members'
spread there has unit root mean square (:func:`acn_sklearn.uncertainty.std_scale`).
A single member errs more than the members' mean, and the other members did
train on those molecules, so the scale leans towards wide error bars.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import ClassVar

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils._pprint import _changed_params
from sklearn.utils.validation import check_is_fitted

from ._repr import estimator_repr
from .domain import DomainWarning, TrainingDomain
from .molecules import check_molecules, check_targets, checked
from .uncertainty import std_scale

__all__ = ["DeepEnsembleRegressor"]


class DeepEnsembleRegressor(RegressorMixin, BaseEstimator):
    """Average of ``n_members`` clones of a regressor that differ in their seed.

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
    member_params : dict of str to list, default=None
        Parameters of the member that differ between members, each with one
        value per member: ``{"radius": [3, 4, 5]}`` gives member ``k`` the
        radius ``[3, 4, 5][k]``. ``None``: the members differ only in their seed.
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
    std_scale_ : float or ndarray of shape (n_outputs,)
        Only with two or more members that hold out validation molecules
        (``validation_indices_``, as :class:`~acn_sklearn.ACNRegressor` does):
        what turns the members' spread into a predictive standard deviation
        (see the module's description).
    training_domain_ : TrainingDomain
        What the training molecules covered and, with ``std_scale_``, the
        level of uncertainty of the held-out molecules; ``predict`` warns
        about molecules outside it (once, for the ensemble, not per member).

    Examples
    --------
    >>> from acn_sklearn import ACNRegressor
    >>> from acn_sklearn.ensemble import DeepEnsembleRegressor
    >>> model = DeepEnsembleRegressor(ACNRegressor(), n_members=4, random_state=0)
    >>> model.fit(X, y).predict(X[:5], return_std=True)  # doctest: +SKIP
    >>> radii = DeepEnsembleRegressor(
    ...     ACNRegressor(), n_members=3, member_params={"radius": [3, 4, 5]}, random_state=0
    ... )
    """

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [HasMethods(["fit", "predict"])],
        "n_members": [Interval(Integral, 1, None, closed="left")],
        "member_params": [dict, None],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self, estimator, *, n_members=4, member_params=None, random_state=None, n_jobs=None
    ):
        self.estimator = estimator
        self.n_members = n_members
        self.member_params = member_params
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __repr__(self, N_CHAR_MAX=700):
        """Print as scikit-learn does, the member estimator as it prints itself.

        sklearn's printer would list a skorch network's ``**kwargs`` parameters
        as changed ones.
        """
        return estimator_repr(type(self).__name__, _changed_params(self), N_CHAR_MAX)

    def fit(self, X, y, **fit_params):
        """Fit every member on all of ``X, y``.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any format :func:`~acn_sklearn.molecules.check_molecules`
            accepts.
        y : array-like of shape (n_molecules,) or (n_molecules, n_outputs)
        **fit_params
            Passed to every member's ``fit``.

        Returns
        -------
        self
        """
        varied = self._check_params()
        X = check_molecules(X)
        y = check_targets(y, len(X))
        members = []
        for k in range(self.n_members):
            seed = None if self.random_state is None else self.random_state + k
            own = {name: values[k] for name, values in varied.items()}
            members.append(clone(self.estimator).set_params(random_state=seed, **own))
        with checked(X):
            self.estimators_ = Parallel(n_jobs=self.n_jobs)(
                delayed(member.fit)(X, y, **fit_params) for member in members
            )
        self.training_domain_ = TrainingDomain.of(X)
        self.__dict__.pop("std_scale_", None)  # from an earlier fit
        self._calibrate(X, y)
        return self

    def _check_params(self) -> dict:
        """Validate the parameters; return ``member_params`` as a dict of per-member values."""
        self._validate_params()
        member = type(self.estimator).__name__
        settable = self.estimator.get_params()
        if "random_state" not in settable:
            raise ValueError(
                f"DeepEnsembleRegressor varies its members' random_state, but "
                f"{member} has no random_state parameter"
            )
        varied = dict(self.member_params or {})
        unknown = sorted(set(varied) - set(settable))
        if unknown:
            raise ValueError(f"member_params names {unknown}, which {member} does not have")
        if "random_state" in varied:
            raise ValueError(
                "member_params cannot set random_state: member k gets random_state + k"
            )
        for name, values in varied.items():
            if isinstance(values, str) or not hasattr(values, "__len__"):
                raise ValueError(f"member_params[{name!r}] must be a list, got {values!r}")
            if len(values) != self.n_members:
                raise ValueError(
                    f"member_params[{name!r}] has {len(values)} values for {self.n_members} members"
                )
        return varied

    def _member_predictions(self, X):
        """Every member's prediction for validated molecules, without their domain warnings."""
        with warnings.catch_warnings(), checked(X):
            warnings.simplefilter("ignore", DomainWarning)
            return np.stack([member.predict(X) for member in self.estimators_])

    def _calibrate(self, X, y):
        """Set ``std_scale_`` from the members' held-out molecules, if there are any."""
        held_out = [getattr(m, "validation_indices_", ()) for m in self.estimators_]
        union = np.unique(np.concatenate([np.zeros(0, dtype=int), *held_out]))
        if self.n_members < 2 or len(union) == 0:
            return
        predictions = self._member_predictions(X[union])
        spread = predictions.std(axis=0)
        residuals, spreads = [], []
        for k, indices in enumerate(held_out):
            positions = np.searchsorted(union, indices)
            residuals.append(y[indices] - predictions[k, positions])
            spreads.append(spread[positions])
        self.std_scale_ = std_scale(np.concatenate(residuals), np.concatenate(spreads))
        self.training_domain_ = self.training_domain_.with_std_limit(spread * self.std_scale_)

    def predict(self, X, return_std=False):
        """Mean prediction of the members.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        return_std : bool, default=False
            Also return the predictive standard deviation: the members'
            spread times ``std_scale_``; and warn about molecules whose
            uncertainty is far above that of the held-out molecules.

        Returns
        -------
        y_mean : ndarray of shape (n_molecules,) or (n_molecules, n_outputs)
        y_std : ndarray of the same shape, only with ``return_std=True``

        Raises
        ------
        ValueError
            With ``return_std=True`` if the ensemble has no ``std_scale_``.
        """
        check_is_fitted(self, "estimators_")
        if return_std and not hasattr(self, "std_scale_"):
            raise ValueError(
                "this DeepEnsembleRegressor has no calibrated standard deviation: it needs "
                "two or more members that hold out validation molecules (validation_indices_)"
            )
        X = check_molecules(X)
        predictions = self._member_predictions(X)
        mean = predictions.mean(axis=0)
        std = predictions.std(axis=0) * self.std_scale_ if return_std else None
        self.training_domain_.warn(X, type(self).__name__, std)
        return (mean, std) if return_std else mean
