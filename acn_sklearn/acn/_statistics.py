"""What the network learns from its training data before the first gradient step.

Feature scales and the target's baseline, shift and scale are fixed statistics
of the training set, not weights: :func:`training_statistics` computes them once
per ``fit`` from the featurized molecules, and
:meth:`~acn_sklearn.acn._network.ACNModule.set_statistics` stores them in the
network's buffers, so a saved network carries them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..molecules import element_baseline
from ._data import MoleculeDataset


@dataclass(frozen=True)
class TrainingStatistics:
    """Statistics of a training set, as float32 tensors.

    Attributes
    ----------
    density_scale : Tensor of shape (cloud_order, n_species * n_radial)
        Root mean square of each density column per degree, over the atoms that
        have a neighbour of the column's element (1 where no atom has one).
    potential_mean, potential_scale : Tensor of shape (3,)
        Mean and standard deviation of the compressed many-body potentials.
    element_baseline : Tensor of shape (n_species, n_outputs)
        Least-squares target per atom of each element (zero for a sigmoid output).
    target_shift, target_scale : Tensor of shape (n_outputs,)
        Linear output: mean and standard deviation of what the baseline leaves.
        Sigmoid output: the low end and width of the training range, widened by
        5 % on each side.
    loss_scale : Tensor of shape (n_outputs,)
        Standard deviation of each target: the loss compares errors in these units.
    """

    density_scale: torch.Tensor
    potential_mean: torch.Tensor
    potential_scale: torch.Tensor
    element_baseline: torch.Tensor
    target_shift: torch.Tensor
    target_scale: torch.Tensor
    loss_scale: torch.Tensor


def _density_scale(density: torch.Tensor, cloud_order: int) -> torch.Tensor:
    # Mean square of each column over the atoms that have a neighbour of its
    # element: over all atoms, a rare element's columns (fluorine) would be
    # inflated by 1 / sqrt(its frequency) and dwarf the others.
    present = density.ne(0).any(dim=1).sum(dim=0).clamp_min(1)  # (n_inputs,)
    squares = density.square().sum(dim=0) / present  # (cloud_order**2, n_inputs)
    degree = torch.repeat_interleave(torch.arange(cloud_order), 2 * torch.arange(cloud_order) + 1)
    rms = torch.zeros(cloud_order, squares.shape[1]).index_add_(0, degree, squares)
    rms = (rms / (2 * torch.arange(cloud_order) + 1)[:, None]).sqrt()
    return torch.where(rms > 0, rms, torch.ones_like(rms))


def training_statistics(
    dataset: MoleculeDataset,
    y: np.ndarray,
    counts: np.ndarray,
    *,
    cloud_order: int,
    output: str,
) -> TrainingStatistics:
    """Compute the statistics of a featurized training set.

    Parameters
    ----------
    dataset : MoleculeDataset
        The featurized training molecules (densities and potentials are read).
    y : ndarray of shape (n_molecules, n_outputs)
        Their targets.
    counts : ndarray of shape (n_molecules, n_species)
        Atoms of each species per molecule.
    cloud_order : int
        Number of spherical-harmonic degrees of the densities.
    output : {"linear", "sigmoid"}
        The network's output (see :class:`~acn_sklearn.ACNRegressor`).

    Returns
    -------
    TrainingStatistics
    """
    V = dataset.arrays["potentials"].numpy()
    if output == "sigmoid":
        low, high = y.min(axis=0), y.max(axis=0)
        margin = 0.05 * np.maximum(high - low, 1e-12)
        baseline = np.zeros((counts.shape[1], y.shape[1]))
        shift, scale = low - margin, high - low + 2 * margin
    else:
        baseline = element_baseline(counts, y)
        residual = y - counts @ baseline
        shift, scale = residual.mean(axis=0), residual.std(axis=0)

    def tensor(value):
        return torch.as_tensor(value, dtype=torch.float32)

    return TrainingStatistics(
        density_scale=tensor(_density_scale(dataset.arrays["density"], cloud_order)),
        potential_mean=tensor(V.mean(axis=0)),
        potential_scale=tensor(np.maximum(V.std(axis=0), 1e-6)),
        element_baseline=tensor(baseline),
        target_shift=tensor(shift),
        target_scale=tensor(np.maximum(scale, 1e-6)),
        loss_scale=tensor(np.maximum(y.std(axis=0), 1e-6)),
    )
