"""ACNAtomRegressor: AtomCloudNet for atomic properties, one value per atom."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np

from ..atomic import AtomRegressorMixin, check_atom_targets
from ..molecules import check_molecules
from ._base import ACNBase


class ACNAtomRegressor(AtomRegressorMixin, ACNBase):
    """AtomCloudNet for atomic properties: one value per atom, such as partial charges.

    The network of :class:`ACNRegressor` without pooling: every atom's features
    go through the head, and its prediction is the mean training value of its
    element plus the network's residual. With ``total_charge`` set, each
    molecule's predictions are then shifted equally so that they sum to it (0:
    neutral molecules, as for QM9's Mulliken charges). The loss, the validation
    MAE that early stopping watches and :meth:`score` count the real atoms only.

    Parameters
    ----------
    total_charge : float or None, default=0.0
        What every molecule's predicted values sum to (in the target's unit,
        e for charges); None leaves them free (atomic properties that are not
        charges).
    **kwargs
        The network and training parameters of :class:`ACNRegressor`
        (``radius``, ``max_epochs``, ``random_state``, ...): all but its
        molecular ``head``, ``target``, ``pooling``, ``pooling_power`` and
        ``output``.

    Attributes
    ----------
    elements_ : ndarray of int
        Nuclear charges seen in ``fit``.
    module_ : ACNModule or AveragedNetwork
        The trained network.
    statistics_ : TrainingStatistics
        Its ``element_baseline`` holds the mean training value of each element.
    training_domain_ : TrainingDomain
        What the training molecules covered.
    history_ : skorch.History
        Per-epoch training record (``valid_mae``: MAE over the validation atoms).
    interrupted_ : bool
        Whether Ctrl-C (a ``KeyboardInterrupt``) ended the last fit. The fit
        then keeps the weights of its best validation epoch so far (with
        ``validation_fraction=0``, those it had when interrupted), and says so
        unless ``verbose=0``.

    See Also
    --------
    acn_sklearn.atomic : validation and scoring of atomic targets.

    Examples
    --------
    >>> from acn_sklearn import ACNAtomRegressor
    >>> from acn_sklearn.datasets import load_qm9
    >>> qm9 = load_qm9(n_molecules=1000, random_state=0)  # doctest: +SKIP
    >>> model = ACNAtomRegressor(random_state=0)
    >>> model.fit(qm9.data, qm9.mulliken_charges)  # doctest: +SKIP
    >>> # (2, 29): the charges of two molecules, zero at padding
    >>> charges = model.predict(qm9.data[:2])  # doctest: +SKIP
    """

    _parameter_constraints: ClassVar[dict] = {
        **ACNBase._parameter_constraints,
        "total_charge": [Real, None],
    }

    def __init__(self, *, total_charge=0.0, **kwargs):
        super().__init__(**kwargs)
        self.total_charge = total_charge

    def _own_module_parameters(self) -> dict:
        return {"total_charge": self.total_charge}

    def fit(self, X, y, **fit_params):
        """Fit the network to molecules ``X`` and the values of their atoms ``y``.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any format :func:`acn_sklearn.molecules.check_molecules`
            accepts.
        y : array-like of shape (n_molecules, max_atoms)
            One value per atom row of the canonical array of ``X``, zero at
            padding (:func:`acn_sklearn.atomic.check_atom_targets`).
        **fit_params
            Passed to :meth:`skorch.NeuralNet.partial_fit`.

        Returns
        -------
        self
        """
        self._check_params()
        X = check_molecules(X)
        y = check_atom_targets(y, X)
        self.n_outputs_ = 1
        self.heads_ = ("atomic",)
        return self._fit(X, y[X[:, :, 0] > 0][:, None], **fit_params)

    def predict(self, X, return_std=False):
        """Predict the value of every atom of molecules ``X``.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Molecules in any accepted format.
        return_std : bool, default=False
            Also return each atom's standard deviation: the last-layer posterior
            of :class:`ACNRegressor`, calibrated on the atoms of the validation
            molecules.

        Returns
        -------
        y : ndarray of shape (n_molecules, max_atoms)
            Aligned with the canonical array of ``X``, zero at padding; with
            ``total_charge`` set, every row sums to it.
        y_std : ndarray of shape (n_molecules, max_atoms)
            Only with ``return_std=True``; zero at padding.

        Warns
        -----
        DomainWarning
            For molecules outside the training domain, naming them.
        """
        X = self._checked_input(X)
        real = X[:, :, 0] > 0
        y = np.zeros(X.shape[:2])
        if not return_std:
            self.training_domain_.warn(X, type(self).__name__)
            y[real] = self._network_outputs(X)[:, 0]
            return y
        std = np.zeros(X.shape[:2])
        rows, row_std = self._rows_with_std(X)
        y[real], std[real] = rows[:, 0], row_std[:, 0]
        # A molecule is as uncertain as its most uncertain atom.
        self.training_domain_.warn(X, type(self).__name__, std.max(axis=1))
        return y, std
