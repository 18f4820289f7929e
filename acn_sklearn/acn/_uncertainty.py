"""The uncertainty of one trained network: a Bayesian linear model of its last layer.

Every output ``y_k`` of the network is a function of its last layer's outputs
``z_ik = w_k . h_i + b_k`` (per atom ``i`` for the atom-wise heads, per molecule
with power pooling). Linearised in that layer's weights ``theta_k = (w_k, b_k)``,
``y_k ~ theta_k . phi_k`` with the Jacobian features
``phi_k = sum_i (dy_k / dz_ik) [h_i, 1]`` over the molecule's rows: for the
extensive head the atoms' summed features times the target scale, for the
intensive head their attention-weighted mean, for the dipole and spatial-extent
heads whatever the geometry makes of them, for the atomic head each atom's own
features (less the molecule's mean, where charges are constrained to a total).
Taking the trained weights as the mean of a Gaussian posterior fitted on the
training split, ``P_k = Phi_k^T Phi_k + lambda I`` is its precision up to the
noise variance, and the standard deviation of ``y_k`` is proportional to
``sqrt(phi_k^T P_k^-1 phi_k)`` (the generalised Gauss-Newton, or linearised
Laplace, approximation of the last layer). Its scale is calibrated on the
network's validation split (the early-stopping molecules, never trained on)
with :func:`acn_sklearn.uncertainty.std_scale`. Features extensive in the atoms
make the standard deviation grow with molecules larger than any trained on.

The prior ``lambda`` is :data:`PRIOR` times the mean diagonal of ``Phi_k^T Phi_k``:
weak, it only keeps the precision invertible when features are collinear.
"""

from __future__ import annotations

import threading
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
    """Predictions and last-layer Jacobian features of the evaluated network.

    Parameters
    ----------
    regressor : ACNRegressor
        Fitted.
    dataset : MoleculeDataset

    Returns
    -------
    y : ndarray of shape (n_rows, n_outputs)
        One row per molecule, or per atom for the atomic head.
    features : ndarray of shape (n_outputs, n_rows, n_features)
        ``phi_k`` of the module's description.
    targets : ndarray of shape (n_rows, n_outputs) or None
        The dataset's targets in the same row order, if it has them.
    """
    module = regressor.module_
    network = module.average if isinstance(module, AveragedNetwork) else module
    captured, thread = [], threading.get_ident()

    def capture(_, inputs, output):
        # The hook is the module's, seen by every thread's forward pass: a prediction in
        # another thread must neither be captured here nor have its output replaced.
        if threading.get_ident() != thread:
            return None
        if not output.requires_grad:  # the weight average's frozen copy
            output = output.detach().requires_grad_()
        captured.append((inputs[0], output))
        return output

    hook = network.head[-1].register_forward_hook(capture)
    ys, features, targets = [], [], []
    module.eval()
    try:
        with torch.enable_grad():
            for batch, target in dataset.batches(_BATCH):
                batch = batch.to(regressor.device)
                captured.clear()
                y = module(batch)
                h, z = captured[0]
                rows = torch.cat([h, torch.ones(len(h), 1, device=h.device)], dim=1).detach()
                phi = network.last_layer_jacobian(y, z, rows, batch)
                ys.append(y.detach().double().cpu())
                features.append(phi.detach().double().cpu())
                if target is not None:
                    targets.append(target.double().reshape(len(y), -1))
    finally:
        hook.remove()
    targets = torch.cat(targets).numpy() if targets else None
    return torch.cat(ys).numpy(), torch.cat(features, dim=1).numpy(), targets


@dataclass(frozen=True)
class LastLayerPosterior:
    """The calibrated last-layer posterior of a trained network.

    Attributes
    ----------
    factors : ndarray of shape (n_outputs, n_features, n_features)
        Lower Cholesky factor of ``P_k`` on the training split, per output.
    scale : ndarray of shape (n_outputs,)
        Calibration on the validation split.
    validation_std : ndarray of shape (n_validation, n_outputs)
        Calibrated standard deviations of the validation molecules (atoms, for
        the atomic head).
    """

    factors: np.ndarray
    scale: np.ndarray
    validation_std: np.ndarray

    @staticmethod
    def _raw_std(factors, features):
        std = []
        for factor, phi in zip(factors, features, strict=True):
            v = solve_triangular(factor, phi.T, lower=True, check_finite=False)
            std.append(np.sqrt(np.einsum("ij,ij->j", v, v)))
        return np.stack(std, axis=1)

    @classmethod
    def fit(cls, regressor, train: MoleculeDataset, valid: MoleculeDataset):
        """Fit on the training split's features, calibrate on the validation split.

        Parameters
        ----------
        regressor : ACNRegressor
            Trained.
        train, valid : MoleculeDataset
            The splits the network was trained and early-stopped on, with their
            targets.

        Returns
        -------
        LastLayerPosterior
        """
        _, features, _ = network_outputs(regressor, train)
        factors = []
        for phi in features:
            precision = phi.T @ phi
            precision.flat[:: len(precision) + 1] += PRIOR * precision.diagonal().mean()
            factors.append(cho_factor(precision, lower=True, check_finite=False)[0])
        factors = np.stack(factors)
        y, features, y_valid = network_outputs(regressor, valid)
        raw = cls._raw_std(factors, features)
        scale = std_scale(y_valid - y, np.maximum(raw, np.finfo(float).tiny))
        return cls(factors=factors, scale=scale, validation_std=raw * scale)

    def predict(self, regressor, dataset: MoleculeDataset):
        """Predictions and their calibrated standard deviations, both (n_rows, n_outputs)."""
        y, features, _ = network_outputs(regressor, dataset)
        return y, self._raw_std(self.factors, features) * self.scale
