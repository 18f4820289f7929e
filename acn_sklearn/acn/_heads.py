"""Property heads: how the network's per-atom outputs become a property.

The network gives every atom one number per output column, ``a_i``. A property
head turns a column into its property with the physics of its kind built in, and
owns everything that depends on that kind: the statistics that scale the column
before training (:meth:`Head.statistics`) and the column's last-layer Jacobian
for the uncertainty (:meth:`Head.jacobian`).

- :class:`Extensive`: ``sum_i a_i`` on top of a per-element linear baseline, a
  sum of atom contributions (energies);
- :class:`Intensive`: an attention-weighted mean ``sum_i w_i a_i``, the weights a
  softmax over the molecule's atoms of learned scores ``s_i``: the same for a
  molecule and for two far-apart copies of it (orbital energies), and able to
  weigh the atoms that matter (those of the frontier orbital);
- :class:`Dipole`: latent atomic charges ``q_i``, shifted so that they sum to the
  molecule's total charge, and ``mu = |sum_i q_i (r_i - r_c)|`` with ``r_c`` the
  centre of mass (for a neutral molecule any centre gives the same vector);
- :class:`SpatialExtent`: positive latent electron populations
  ``p_i = softplus(a_i)`` and ``<R^2> = sum_i p_i |r_i - r_c|^2``;
- :class:`Atomic`: one value per atom, a per-element baseline plus the network's
  residual, shifted per molecule to sum to the total charge unless it is None
  (:class:`~acn_sklearn.ACNAtomRegressor`).

Every head is invariant to rotations, translations and the order of the atoms by
construction; the dipole vector rotates with the molecule. Positions reach the
heads relative to the centre of mass (:func:`._data.centred_positions`). A new
head is one subclass here and one entry in :data:`HEADS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn.functional import softplus

from .._targets import TARGET_KINDS
from ..molecules import element_baseline
from ._data import MoleculeBatch, MoleculeDataset

#: Debye per e Angstrom (1 e Angstrom = 4.80320 D).
DEBYE_PER_E_ANGSTROM = 4.80320
#: Bohr per Angstrom.
BOHR_PER_ANGSTROM = 1.8897261


def sum_over_molecules(per_atom: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
    """Sum per-atom rows (n_atoms, ...) into per-molecule rows (n_molecules, ...)."""
    out = per_atom.new_zeros(len(batch), *per_atom.shape[1:])
    return out.index_add_(0, batch.molecule, per_atom)


def constrain_total_charge(q: torch.Tensor, batch: MoleculeBatch, total: float) -> torch.Tensor:
    """Shift every molecule's charges (n_atoms, k) equally so that they sum to ``total``."""
    excess = (sum_over_molecules(q, batch) - total) / batch.atoms_per_molecule[:, None]
    return q - excess[batch.molecule]


def dipole_vectors(q: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
    """``sum_i q_i (r_i - r_c)`` in Debye, (n_molecules, k, 3), for charges q (n_atoms, k) in e."""
    moments = q[:, :, None] * batch.positions[:, None, :]
    return DEBYE_PER_E_ANGSTROM * sum_over_molecules(moments, batch)


@dataclass
class TrainingTargets:
    """A training set's targets and what the heads' statistics read of it.

    Attributes
    ----------
    dataset : MoleculeDataset
        The featurized training molecules.
    y : ndarray of shape (n_molecules, n_outputs), or (n_atoms, 1) for the atomic head
    counts : ndarray of shape (n_molecules, n_species)
        Atoms of each species per molecule.
    """

    dataset: MoleculeDataset
    y: np.ndarray
    counts: np.ndarray

    @cached_property
    def element_baseline(self) -> np.ndarray:
        """Least-squares target per atom of each element, (n_species, n_outputs)."""
        return element_baseline(self.counts, self.y)

    @cached_property
    def baseline_residual(self) -> np.ndarray:
        """What the element baseline leaves of the targets."""
        return self.y - self.counts @ self.element_baseline

    @cached_property
    def second_moment(self) -> float:
        """Mean over molecules of ``sum_i |r_i - r_c|^2`` (Angstrom^2)."""
        squared = self.dataset.arrays["positions"].double().square().sum(dim=1).numpy()
        offsets = self.dataset.arrays["atom_offsets"].numpy()
        return np.add.reduceat(squared, offsets[:-1]).mean()


class Head(nn.Module):
    """A property head: the output columns ``columns`` through one kind of physics.

    Parameters
    ----------
    columns : sequence of int
        The output columns of this head.
    n_outputs : int
        All output columns of the network.
    atom_dim : int
        Width of the atom features (the network's ``2 * atom_dim`` per atom).
    hidden : int
        Width of a hidden layer the head may have.
    """

    #: The head's name, the value of ``ACNRegressor(head=...)``.
    kind: ClassVar[str]
    #: Whether the head predicts one row per atom rather than per molecule.
    per_atom: ClassVar[bool] = False

    def __init__(self, columns, n_outputs: int, atom_dim: int, hidden: int):
        super().__init__()
        self.columns = tuple(columns)
        mask = torch.zeros(n_outputs, dtype=torch.bool)
        mask[list(self.columns)] = True
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, a: torch.Tensor, c: torch.Tensor, batch: MoleculeBatch, network):
        """Every output column through this head, (n_molecules, n_outputs).

        Parameters
        ----------
        a : Tensor of shape (n_atoms, n_outputs)
            The atoms' outputs of the network's last layer.
        c : Tensor of shape (n_atoms, 2 * atom_dim)
            The atoms' features (the last layer's input).
        batch : MoleculeBatch
        network : ACNModule
            Its statistics buffers ``element_baseline``, ``target_shift``,
            ``target_scale`` and its ``total_charge``.
        """
        raise NotImplementedError

    @classmethod
    def statistics(cls, targets: TrainingTargets, k: int) -> tuple[np.ndarray, float, float]:
        """Per-element baseline (n_species,), shift and scale of output column ``k``.

        The network predicts ``baseline + shift + scale * z`` for extensive
        columns; the other heads use what their physics needs of the three.
        """
        raise NotImplementedError

    def jacobian(self, k: int, y, z, rows, batch: MoleculeBatch, network) -> torch.Tensor:
        """``phi_k``: the derivative of column ``k`` of ``y`` by the last layer's weights.

        Parameters
        ----------
        k : int
            The output column, one of :attr:`columns`.
        y : Tensor of shape (n_molecules, n_outputs)
            The predictions, with their graph.
        z : Tensor of shape (n_atoms, n_outputs)
            The last layer's outputs, which ``y`` is differentiated by.
        rows : Tensor of shape (n_atoms, n_features)
            The last layer's inputs with a column of ones (its bias).
        batch : MoleculeBatch
        network : ACNModule

        Returns
        -------
        Tensor of shape (n_molecules, n_features)
            ``sum_i (dy_k / dz_ik) rows_i`` over each molecule's atoms.
        """
        (grad,) = torch.autograd.grad(y[:, k].sum(), z, retain_graph=True)
        weighted = grad[:, k : k + 1] * rows
        if len(z) != len(y):  # atom rows: sum them per molecule
            weighted = sum_over_molecules(weighted, batch)
        return weighted


class Extensive(Head):
    """``sum_i a_i`` on top of a per-element linear baseline: a sum of atom contributions."""

    kind = "extensive"

    def forward(self, a, c, batch, network):
        baseline = sum_over_molecules(network.element_baseline[batch.species], batch)
        return baseline + network.target_shift + network.target_scale * sum_over_molecules(a, batch)

    @classmethod
    def statistics(cls, targets, k):
        residual = targets.baseline_residual
        return targets.element_baseline[:, k], residual.mean(axis=0)[k], residual.std(axis=0)[k]


class Intensive(Head):
    """An attention-weighted mean of the atoms' outputs: a property of the whole molecule.

    The attention scores are a small MLP of the atom features; its last layer
    starts at zero, so training starts from the plain mean.
    """

    kind = "intensive"

    def __init__(self, columns, n_outputs, atom_dim, hidden):
        super().__init__(columns, n_outputs, atom_dim, hidden)
        self.attention = nn.Sequential(
            nn.Linear(2 * atom_dim, hidden), nn.Softplus(), nn.Linear(hidden, n_outputs)
        )
        nn.init.zeros_(self.attention[-1].weight)
        nn.init.zeros_(self.attention[-1].bias)

    @staticmethod
    def pool(a: torch.Tensor, scores: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
        """``sum_i w_i a_i`` per molecule, (n_molecules, k), with ``w`` the softmax of the
        atoms' ``scores`` (n_atoms, k) over each molecule's atoms."""
        index = batch.molecule[:, None].expand_as(scores)
        top = scores.new_zeros(len(batch), scores.shape[1])
        top = top.scatter_reduce(0, index, scores.detach(), reduce="amax", include_self=False)
        weights = torch.exp(scores - top[batch.molecule])
        weights = weights / sum_over_molecules(weights, batch)[batch.molecule]
        return sum_over_molecules(weights * a, batch)

    def forward(self, a, c, batch, network):
        pooled = self.pool(a, self.attention(c), batch)
        return network.target_shift + network.target_scale * pooled

    @classmethod
    def statistics(cls, targets, k):
        column = targets.y[:, k]
        return np.zeros(targets.counts.shape[1]), column.mean(), column.std()


class Dipole(Head):
    """Latent charges summing to the total charge, and the norm of their dipole in Debye.

    The scale of the charges (e) makes a typical training molecule's dipole as
    large as the targets' root mean square.
    """

    kind = "dipole"

    def charges(self, a, batch, network) -> torch.Tensor:
        """Latent atomic charges in e, (n_atoms, n_outputs), summing to the total charge."""
        return constrain_total_charge(network.target_scale * a, batch, network.total_charge or 0.0)

    def forward(self, a, c, batch, network):
        q = self.charges(a, batch, network)
        return torch.linalg.vector_norm(dipole_vectors(q, batch), dim=2)

    @classmethod
    def statistics(cls, targets, k):
        rms = np.sqrt(np.mean(targets.y[:, k] ** 2))
        scale = rms / (DEBYE_PER_E_ANGSTROM * np.sqrt(targets.second_moment))
        return np.zeros(targets.counts.shape[1]), 0.0, scale


class SpatialExtent(Head):
    """Positive latent populations ``p_i`` and ``sum_i p_i |r_i - r_c|^2`` in bohr^2.

    The scale of the populations makes ``softplus(0)`` populations give the mean target.
    """

    kind = "spatial_extent"

    def forward(self, a, c, batch, network):
        squared = batch.positions.square().sum(dim=1) * BOHR_PER_ANGSTROM**2
        populations = network.target_scale * softplus(a)
        return sum_over_molecules(populations * squared[:, None], batch)

    @classmethod
    def statistics(cls, targets, k):
        spread = np.log(2.0) * targets.second_moment * BOHR_PER_ANGSTROM**2
        return np.zeros(targets.counts.shape[1]), 0.0, targets.y[:, k].mean() / spread


class Atomic(Head):
    """One value per atom: the element's mean training value plus the network's residual,
    shifted per molecule to sum to the network's ``total_charge`` unless it is None."""

    kind = "atomic"
    per_atom = True

    def forward(self, a, c, batch, network):
        values = network.element_baseline[batch.species] + network.target_shift
        values = values + network.target_scale * a
        if network.total_charge is None:
            return values
        return constrain_total_charge(values, batch, network.total_charge)

    @classmethod
    def statistics(cls, targets, k):
        species = targets.dataset.arrays["species"].numpy()
        y = targets.y[:, k : k + 1]
        baseline = np.zeros((targets.counts.shape[1], 1))
        for s in np.unique(species):
            baseline[s] = y[species == s].mean(axis=0)
        residual = y - baseline[species]
        return baseline[:, 0], residual.mean(axis=0)[0], residual.std(axis=0)[0]

    def jacobian(self, k, y, z, rows, batch, network):
        # y_i = scale (z_i - mean of the molecule's z) + constants: linear in the rows.
        if network.total_charge is not None:
            mean = sum_over_molecules(rows, batch) / batch.atoms_per_molecule[:, None]
            rows = rows - mean[batch.molecule]
        return network.target_scale[k] * rows


#: Every head, by the name ``ACNRegressor(head=...)`` takes.
HEADS: dict[str, type[Head]] = {
    head.kind: head for head in (Extensive, Intensive, Dipole, SpatialExtent, Atomic)
}

#: The head ``head="auto"`` picks for each kind of target
#: (:data:`acn_sklearn.datasets.TARGET_KINDS`). The rotational constants are exact
#: functions of the geometry; learned, they are molecular numbers that do not add up
#: over atoms.
HEAD_OF_KIND = {
    "extensive": "extensive",
    "intensive": "intensive",
    "dipole": "dipole",
    "spatial_extent": "spatial_extent",
    "rotational": "intensive",
}


def resolve_heads(head, target, n_outputs: int) -> tuple[str, ...]:
    """The head of every output column.

    Parameters
    ----------
    head : str or sequence of str
        ``"auto"``, the name of a molecular head of :data:`HEADS` for every output,
        or one per output.
    target : str, sequence of str or None
        The QM9 target name of every output (``head="auto"``); None: extensive.
    n_outputs : int
        Number of output columns.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        For an unknown head or target, a per-atom target, or a count that does
        not match ``n_outputs``.
    """
    molecular = tuple(kind for kind, head_class in HEADS.items() if not head_class.per_atom)
    if isinstance(head, str) and head != "auto":
        heads = (head,) * n_outputs
    elif isinstance(head, str):
        if target is None:
            return ("extensive",) * n_outputs
        names = [target] if isinstance(target, str) else list(target)
        heads = []
        for name in names:
            kind = TARGET_KINDS.get(name)
            if kind == "atomic_charges":
                raise ValueError(
                    f"target {name!r} has one value per atom: use ACNAtomRegressor "
                    "(model 'acn_atom'), not ACNRegressor"
                )
            if kind is None:
                raise ValueError(
                    f"unknown target {name!r} for head='auto'; QM9 targets are "
                    f"{sorted(TARGET_KINDS)}. Name the head instead, one of {molecular}"
                )
            heads.append(HEAD_OF_KIND[kind])
        if len(names) != n_outputs:
            raise ValueError(
                f"target gives {len(names)} name(s) {names}, but y has {n_outputs} column(s)"
            )
        heads = tuple(heads)
    else:
        heads = tuple(head)
        if len(heads) != n_outputs:
            raise ValueError(f"head gives {len(heads)} head(s), but y has {n_outputs} column(s)")
    unknown = sorted(set(heads) - set(molecular))
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; choose 'auto' or from {molecular}")
    return heads


def build_heads(heads: tuple[str, ...], atom_dim: int, hidden: int) -> nn.ModuleDict:
    """One :class:`Head` per kind in ``heads`` (the head of every output column), in
    order of first appearance."""
    columns: dict[str, list[int]] = {}
    for k, kind in enumerate(heads):
        columns.setdefault(kind, []).append(k)
    return nn.ModuleDict(
        {kind: HEADS[kind](cols, len(heads), atom_dim, hidden) for kind, cols in columns.items()}
    )
