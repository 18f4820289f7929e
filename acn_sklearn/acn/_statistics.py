"""What the network learns from its training data before the first gradient step.

Feature scales and the target's baseline, shift and scale are fixed statistics
of the training set, not weights: :func:`training_statistics` computes them once
per ``fit`` from the featurized molecules, and
:meth:`~acn_sklearn.acn._network.ACNModule.set_statistics` stores them in the
network's buffers, so a saved network carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ._data import MoleculeDataset
from ._geometry import degree_mean
from ._heads import HEADS, TrainingTargets


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
    target_shift, target_scale : Tensor of shape (n_outputs,)
        Per output column, what its property head's statistics give
        (:meth:`._heads.Head.statistics`). Sigmoid output: no baseline, and the
        low end and width of the training range, widened by 5 % on each side.
    loss_scale : Tensor of shape (n_outputs,)
        Standard deviation of each target: the loss compares errors in these units.
    mean_neighbours : Tensor of shape ()
        Neighbour pairs per atom (1 when the dataset keeps no pairs): the
        interaction layers divide their neighbour sums by it.
    """

    density_scale: torch.Tensor
    potential_mean: torch.Tensor
    potential_scale: torch.Tensor
    element_baseline: torch.Tensor
    target_shift: torch.Tensor
    target_scale: torch.Tensor
    loss_scale: torch.Tensor
    mean_neighbours: torch.Tensor = field(default_factory=lambda: torch.tensor(1.0))


def _density_scale(
    density: torch.Tensor, cloud_order: int, n_radial: int, chunk: int = 8192
) -> torch.Tensor:
    # Mean square of each column over the atoms that have a neighbour of its
    # element: over all atoms, a rare element's columns (fluorine) would be
    # inflated by 1 / sqrt(its frequency) and dwarf the others. An atom has such
    # a neighbour if any of the element's columns is nonzero (a single column can
    # round to zero in half precision for a neighbour close to the cutoff). Summed
    # over chunks of atoms in float64: no copy of all densities is made, and the
    # sums keep their small terms.
    n_inputs = density.shape[2]
    present = torch.zeros(n_inputs // n_radial, dtype=torch.float64)
    squares = torch.zeros(density.shape[1:], dtype=torch.float64)
    for part in torch.split(density, chunk):
        part = part.to(torch.float64, copy=True)
        has_element = part.ne(0).any(dim=1).view(len(part), -1, n_radial).any(dim=2)
        present += has_element.sum(dim=0)
        squares += part.square_().sum(dim=0)
    squares /= torch.repeat_interleave(present, n_radial).clamp_min(1)
    rms = (degree_mean(cloud_order, torch.float64).T @ squares).sqrt()
    return torch.where(rms > 0, rms, torch.ones_like(rms))


def training_statistics(
    dataset: MoleculeDataset,
    y: np.ndarray,
    counts: np.ndarray,
    *,
    cloud_order: int,
    n_radial: int,
    output: str,
    heads: tuple[str, ...],
) -> TrainingStatistics:
    """Compute the statistics of a featurized training set.

    Parameters
    ----------
    dataset : MoleculeDataset
        The featurized training molecules (densities and potentials are read).
    y : ndarray of shape (n_molecules, n_outputs), or (n_atoms, 1) for the atomic head
        Their targets.
    counts : ndarray of shape (n_molecules, n_species)
        Atoms of each species per molecule.
    cloud_order : int
        Number of spherical-harmonic degrees of the densities.
    n_radial : int
        Number of radial functions per neighbour element of the densities.
    output : {"linear", "sigmoid"}
        The network's output (see :class:`~acn_sklearn.ACNRegressor`).
    heads : tuple of str
        The head of every output (:mod:`._heads`), or ``("atomic",)``.

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
        targets = TrainingTargets(dataset, y, counts)
        baseline = np.zeros((counts.shape[1], y.shape[1]))
        shift, scale = np.zeros(y.shape[1]), np.zeros(y.shape[1])
        for k, head in enumerate(heads):
            baseline[:, k], shift[k], scale[k] = HEADS[head].statistics(targets, k)

    def tensor(value):
        return torch.as_tensor(value, dtype=torch.float32)

    return TrainingStatistics(
        density_scale=tensor(_density_scale(dataset.arrays["density"], cloud_order, n_radial)),
        potential_mean=tensor(V.mean(axis=0)),
        potential_scale=tensor(np.maximum(V.std(axis=0), 1e-6)),
        element_baseline=tensor(baseline),
        target_shift=tensor(shift),
        target_scale=tensor(np.maximum(scale, 1e-6)),
        loss_scale=tensor(np.maximum(y.std(axis=0), 1e-6)),
        mean_neighbours=tensor(_mean_neighbours(dataset)),
    )


def _mean_neighbours(dataset: MoleculeDataset) -> float:
    n_pairs = len(dataset.arrays["centre"])
    return n_pairs / len(dataset.arrays["species"]) if n_pairs else 1.0
