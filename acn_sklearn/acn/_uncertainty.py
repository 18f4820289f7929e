"""The uncertainty of one trained network: a Bayesian linear model of its last layer.

The network's last layer is linear in its input. With atom-wise sum pooling the
molecule's output is ``z = w . sum_a h_a + n_atoms b`` over the head's penultimate
activations ``h_a`` of its atoms; with power pooling ``z = w . h + b`` for the
pooled molecule. So ``z = theta . phi(x)`` with the molecular features
``phi = [sum_a h_a, n_atoms]`` or ``[h, 1]``. Taking the trained weights ``theta``
as the mean of a Gaussian posterior fitted on the features of the training
split, ``Phi^T Phi + lambda I`` is its precision up to the noise variance, and
the standard deviation of ``z`` at ``x`` is proportional to
``sqrt(phi^T (Phi^T Phi + lambda I)^-1 phi)``. It is carried to the prediction
by the output's slope ``dy/dz`` (the target scale, times the sigmoid's
derivative with ``output="sigmoid"``), and its scale is calibrated on the
network's validation split (the early-stopping molecules, never trained on)
with :func:`acn_sklearn.uncertainty.std_scale`. Features extensive in the atoms
make the standard deviation grow with molecules larger than any trained on.

The prior ``lambda`` is :data:`PRIOR` times the mean diagonal of ``Phi^T Phi``:
weak, it only keeps the precision invertible when features are collinear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.linalg import cho_factor, solve_triangular

from ..uncertainty import std_scale
from ._data import MoleculeDataset
from ._network import AveragedNetwork

#: The prior precision lambda relative to the mean diagonal of ``Phi^T Phi``.
PRIOR = 1e-4
#: Molecules per forward pass.
_BATCH = 1024


def network_outputs(regressor, dataset: MoleculeDataset):
    """Predictions, last-layer features and output slopes of the evaluated network.

    Parameters
    ----------
    regressor : ACNRegressor
        Fitted.
    dataset : MoleculeDataset

    Returns
    -------
    y : ndarray of shape (n_molecules, n_outputs)
    features : ndarray of shape (n_molecules, n_features)
        ``phi`` of the module's description.
    slope : ndarray of shape (n_molecules, n_outputs)
        ``dy/dz``.
    """
    module = regressor.module_
    network = module.average if isinstance(module, AveragedNetwork) else module
    captured = []
    hook = network.head[-1].register_forward_hook(
        lambda _, inputs, output: captured.append((inputs[0], output))
    )
    ys, features, slopes = [], [], []
    module.eval()
    try:
        with torch.no_grad():
            for batch, _ in dataset.batches(_BATCH):
                batch = batch.to(regressor.device)
                captured.clear()
                ys.append(module(batch).double().cpu())
                h, z = captured[0]
                phi = torch.cat([h, torch.ones(len(h), 1, device=h.device)], dim=1)
                if network.pooling == "sum":
                    phi = network._sum_over_molecules(phi, batch)
                    z = network._sum_over_molecules(z, batch)
                slope = network.target_scale.expand_as(z)
                if network.output == "sigmoid":
                    slope = slope * torch.sigmoid(z) * (1 - torch.sigmoid(z))
                features.append(phi.double().cpu())
                slopes.append(slope.double().cpu())
    finally:
        hook.remove()
    return tuple(torch.cat(part).numpy() for part in (ys, features, slopes))


@dataclass(frozen=True)
class LastLayerPosterior:
    """The calibrated last-layer posterior of a trained network.

    Attributes
    ----------
    factor : ndarray of shape (n_features, n_features)
        Lower Cholesky factor of ``Phi^T Phi + lambda I`` on the training split.
    scale : ndarray of shape (n_outputs,)
        Calibration on the validation split.
    validation_std : ndarray of shape (n_validation, n_outputs)
        Calibrated standard deviations of the validation molecules.
    """

    factor: np.ndarray
    scale: np.ndarray
    validation_std: np.ndarray

    @staticmethod
    def _raw_std(factor, features, slope):
        v = solve_triangular(factor, features.T, lower=True, check_finite=False)
        return np.sqrt(np.einsum("ij,ij->j", v, v))[:, None] * np.abs(slope)

    @classmethod
    def fit(cls, regressor, train: MoleculeDataset, valid: MoleculeDataset, y_valid):
        """Fit on the training split's features, calibrate on the validation split.

        Parameters
        ----------
        regressor : ACNRegressor
            Trained.
        train, valid : MoleculeDataset
            The splits the network was trained and early-stopped on.
        y_valid : ndarray of shape (n_validation, n_outputs)

        Returns
        -------
        LastLayerPosterior
        """
        _, features, _ = network_outputs(regressor, train)
        precision = features.T @ features
        precision.flat[:: len(precision) + 1] += PRIOR * precision.diagonal().mean()
        factor = cho_factor(precision, lower=True, check_finite=False)[0]
        y, features, slope = network_outputs(regressor, valid)
        raw = cls._raw_std(factor, features, slope)
        scale = std_scale(y_valid - y, np.maximum(raw, np.finfo(float).tiny))
        return cls(factor=factor, scale=scale, validation_std=raw * scale)

    def predict(self, regressor, dataset: MoleculeDataset):
        """Predictions and their calibrated standard deviations, both (n_molecules, n_outputs)."""
        y, features, slope = network_outputs(regressor, dataset)
        return y, self._raw_std(self.factor, features, slope) * self.scale
