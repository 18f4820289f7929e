"""Property heads: how the network's per-atom outputs become a molecular property.

The network's head gives every atom one number per output, ``a_i``. A property
head turns them into the property, with the physics of its kind built in:

- ``"extensive"``: ``sum_i a_i`` on top of a per-element linear baseline, a sum of
  atom contributions (energies);
- ``"intensive"``: an attention-weighted mean ``sum_i w_i a_i``, the weights a
  softmax over the molecule's atoms of learned scores ``s_i``: the same for a
  molecule and for two far-apart copies of it (orbital energies), and able to
  weigh the atoms that matter (those of the frontier orbital);
- ``"dipole"``: latent atomic charges ``q_i``, shifted so that they sum to the
  molecule's total charge, and ``mu = |sum_i q_i (r_i - r_c)|`` with ``r_c`` the
  centre of mass (for a neutral molecule any centre gives the same vector);
- ``"spatial_extent"``: positive latent electron populations
  ``p_i = softplus(a_i)`` and ``<R^2> = sum_i p_i |r_i - r_c|^2``.

Every head is invariant to rotations, translations and the order of the atoms by
construction; the dipole vector rotates with the molecule.
"""

from __future__ import annotations

import torch
from torch.nn.functional import softplus

from ..datasets._qm9 import TARGET_KINDS
from ._data import MoleculeBatch

#: Debye per e Angstrom (1 e Angstrom = 4.80320 D).
DEBYE_PER_E_ANGSTROM = 4.80320
#: Bohr per Angstrom.
BOHR_PER_ANGSTROM = 1.8897261

#: The heads of :class:`~acn_sklearn.ACNRegressor`, its ``head`` parameter's values.
HEADS = ("extensive", "intensive", "dipole", "spatial_extent")

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
        ``"auto"``, one of :data:`HEADS` for every output, or one per output.
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
                    f"{sorted(TARGET_KINDS)}. Name the head instead, one of {HEADS}"
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
    unknown = sorted(set(heads) - set(HEADS))
    if unknown:
        raise ValueError(f"unknown head(s) {unknown}; choose 'auto' or from {HEADS}")
    return heads


def sum_over_molecules(per_atom: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
    """Sum per-atom rows (n_atoms, ...) into per-molecule rows (n_molecules, ...)."""
    out = per_atom.new_zeros(len(batch), *per_atom.shape[1:])
    return out.index_add_(0, batch.molecule, per_atom)


def constrain_total_charge(q: torch.Tensor, batch: MoleculeBatch, total: float) -> torch.Tensor:
    """Shift every molecule's charges (n_atoms, k) equally so that they sum to ``total``."""
    excess = (sum_over_molecules(q, batch) - total) / batch.atoms_per_molecule[:, None]
    return q - excess[batch.molecule]


def intensive(a: torch.Tensor, scores: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
    """``sum_i w_i a_i`` per molecule, (n_molecules, k), with ``w`` the softmax of the
    atoms' ``scores`` (n_atoms, k) over each molecule's atoms."""
    index = batch.molecule[:, None].expand_as(scores)
    top = scores.new_zeros(len(batch), scores.shape[1])
    top = top.scatter_reduce(0, index, scores.detach(), reduce="amax", include_self=False)
    weights = torch.exp(scores - top[batch.molecule])
    weights = weights / sum_over_molecules(weights, batch)[batch.molecule]
    return sum_over_molecules(weights * a, batch)


def dipole_vectors(q: torch.Tensor, batch: MoleculeBatch) -> torch.Tensor:
    """``sum_i q_i (r_i - r_c)`` in Debye, (n_molecules, k, 3), for charges q (n_atoms, k) in e."""
    moments = q[:, :, None] * batch.positions[:, None, :]
    return DEBYE_PER_E_ANGSTROM * sum_over_molecules(moments, batch)


def spatial_extent(a: torch.Tensor, batch: MoleculeBatch, scale: torch.Tensor) -> torch.Tensor:
    """``sum_i p_i |r_i - r_c|^2`` in bohr^2 with populations ``p_i = scale softplus(a_i)``."""
    squared = batch.positions.square().sum(dim=1) * BOHR_PER_ANGSTROM**2
    return sum_over_molecules(scale * softplus(a) * squared[:, None], batch)
