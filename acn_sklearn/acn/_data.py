"""Precomputed molecule features and the mini-batches the network consumes.

:func:`featurize` turns validated molecules into a :class:`MoleculeDataset`
once; training then only gathers rows of it. A batch stores the real atoms of
its molecules flat (no padding) with an atom -> molecule index.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from ase.data import atomic_masses
from torch.utils.data import Dataset

from ._geometry import atom_densities, neighbour_pairs
from ._potentials import compress, many_body_potentials


@dataclass
class MoleculeBatch:
    """The real atoms (and neighbour pairs) of a few molecules, flat.

    Attributes
    ----------
    species : Tensor of int of shape (n_atoms,)
        Element index of each atom.
    density : Tensor of shape (n_atoms, cloud_order**2, n_species * n_radial)
        Atom densities (see :mod:`._geometry`), float32.
    potentials : Tensor of shape (n_atoms, 3)
        Compressed many-body potentials.
    positions : Tensor of shape (n_atoms, 3)
        Coordinates relative to the molecule's centre of mass, in Angstrom.
    molecule : Tensor of int of shape (n_atoms,)
        Index (within the batch) of each atom's molecule.
    atoms_per_molecule : Tensor of shape (n_molecules,)
        Number of atoms of each molecule (float).
    centre, neighbour : Tensor of int of shape (n_pairs,)
        Batch atom indices of the neighbour pairs.
    radial : Tensor of shape (n_pairs, n_radial)
    harmonics : Tensor of shape (n_pairs, cloud_order**2)
    """

    species: torch.Tensor
    density: torch.Tensor
    potentials: torch.Tensor
    positions: torch.Tensor
    molecule: torch.Tensor
    atoms_per_molecule: torch.Tensor
    centre: torch.Tensor
    neighbour: torch.Tensor
    radial: torch.Tensor
    harmonics: torch.Tensor

    def __len__(self) -> int:
        return len(self.atoms_per_molecule)

    def to(self, device) -> MoleculeBatch:
        """The same batch with every tensor on ``device``."""
        return MoleculeBatch(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


def _rows(offsets: torch.Tensor, index: torch.Tensor):
    """Rows ``offsets[m]:offsets[m+1]`` of each ``m`` in ``index``, concatenated, and counts."""
    start, count = offsets[index], offsets[index + 1] - offsets[index]
    first = torch.cumsum(count, 0) - count
    rows = torch.arange(int(count.sum())) + torch.repeat_interleave(start - first, count)
    return rows, count, first


class MoleculeDataset(Dataset):
    """Precomputed features of a set of molecules, indexable by molecule.

    Built by :func:`featurize`. ``subset`` makes a view on some molecules without
    copying; ``batch`` gathers a :class:`MoleculeBatch`; ``batches`` iterates over
    all of them in mini-batches. Targets ``y`` hold one row per molecule, or with
    ``per_atom=True`` one row per real atom (in the order of the stored atoms).
    """

    def __init__(
        self,
        arrays: dict,
        y: torch.Tensor | None,
        index: torch.Tensor | None = None,
        *,
        per_atom: bool = False,
    ):
        self.arrays = arrays
        self.y = y
        self.per_atom = per_atom
        n = len(arrays["atom_offsets"]) - 1
        self.index = torch.arange(n) if index is None else index

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, position):
        return int(self.index[position])

    def subset(self, positions) -> MoleculeDataset:
        """The molecules at ``positions`` of this dataset (a view)."""
        index = self.index[torch.as_tensor(positions)]
        return MoleculeDataset(self.arrays, self.y, index, per_atom=self.per_atom)

    def batch(self, positions) -> tuple[MoleculeBatch, torch.Tensor | None]:
        """Gather the molecules at ``positions`` into ``(batch, y)``."""
        a = self.arrays
        mols = self.index[torch.as_tensor(positions)]
        atoms, n_atoms, first_atom = _rows(a["atom_offsets"], mols)
        pairs, n_pairs, _ = _rows(a["pair_offsets"], mols)
        # Pair atom indices are stored relative to their molecule's first atom.
        shift = torch.repeat_interleave(first_atom, n_pairs)
        batch = MoleculeBatch(
            species=a["species"][atoms],
            density=a["density"][atoms].to(torch.float32),
            potentials=a["potentials"][atoms].to(torch.float32),
            positions=a["positions"][atoms],
            molecule=torch.repeat_interleave(torch.arange(len(mols)), n_atoms),
            atoms_per_molecule=n_atoms.to(torch.float32),
            centre=a["centre"][pairs] + shift,
            neighbour=a["neighbour"][pairs] + shift,
            radial=a["radial"][pairs],
            harmonics=a["harmonics"][pairs],
        )
        if self.y is None:
            return batch, None
        return batch, self.y[atoms] if self.per_atom else self.y[mols]

    def batches(
        self, batch_size: int, rng: np.random.Generator | None = None, select=None
    ) -> _Batches:
        """Mini-batches ``(batch, y)`` of every molecule, shuffled by ``rng`` if given.

        ``select`` maps each epoch's order of positions to the part this process
        trains on (data-parallel training); None keeps every molecule.
        """
        return _Batches(self, batch_size, rng, select)


class _Batches:
    """An iterable of the mini-batches of a :class:`MoleculeDataset` (with a length).

    A new order is drawn every time it is iterated: once per epoch.
    """

    def __init__(self, dataset: MoleculeDataset, batch_size: int, rng, select=None):
        self.dataset, self.batch_size, self.rng, self.select = dataset, batch_size, rng, select

    def _order(self, n: int) -> np.ndarray:
        order = self.rng.permutation(n) if self.rng is not None else np.arange(n)
        return order if self.select is None else self.select(order)

    def __iter__(self):
        order = self._order(len(self.dataset))
        for start in range(0, len(order), self.batch_size):
            yield self.dataset.batch(order[start : start + self.batch_size])

    def __len__(self) -> int:
        n = len(self.dataset)
        n = n if self.select is None else len(self.select(np.arange(n)))
        return -(-n // self.batch_size)


#: Molecules featurized at a time: bounds the temporaries of the neighbour list and
#: the density sums, so peak memory is the stored features plus one chunk's.
FEATURIZE_CHUNK = 4096

#: How atom densities are stored: half precision halves the largest array (all of
#: QM9: 2.4 million atoms x 960 columns at ``cloud_order=4``). It rounds values
#: above 6.1e-5 by at most 2^-11 of themselves, smaller ones by at most 3e-8 (the
#: radial basis close to the cutoff: below 3e-8 it becomes 0); batches compute in
#: float32.
DENSITY_DTYPE = torch.float16


def centred_positions(X: np.ndarray) -> np.ndarray:
    """Coordinates of the real atoms relative to their molecule's centre of mass.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Validated canonical molecules.

    Returns
    -------
    ndarray of shape (n_real_atoms, 3)
        In the order of the real atoms of ``X``, molecule by molecule; standard
        atomic masses (:data:`ase.data.atomic_masses`).
    """
    real = X[:, :, 0] > 0
    masses = np.where(real, atomic_masses[X[:, :, 0].astype(np.int64)], 0.0)
    centre = np.einsum("ma,mad->md", masses, X[:, :, 1:]) / masses.sum(axis=1)[:, None]
    return (X[:, :, 1:] - centre[:, None, :])[real]


def featurize(
    X: np.ndarray,
    y: np.ndarray | None,
    *,
    elements: np.ndarray,
    radius: float,
    cloud_order: int,
    n_radial: int,
    radial_basis: str = "bessel",
    pair_degrees: int,
    per_atom: bool = False,
) -> MoleculeDataset:
    """Compute every geometry-only feature of validated molecules once.

    Molecules are featurized in chunks of :data:`FEATURIZE_CHUNK` straight into
    the stored arrays; each molecule's features do not depend on the chunking.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Validated canonical molecules whose elements are all in ``elements``.
    y : ndarray of shape (n_molecules, n_outputs) or (n_real_atoms, n_outputs), or None
        Targets, if any: one row per molecule, or with ``per_atom=True`` one row
        per real atom of ``X`` (molecule by molecule).
    elements : ndarray of int
        Sorted nuclear charges the model knows; species index = position here.
    radius, cloud_order, n_radial, radial_basis :
        See :class:`~acn_sklearn.ACNRegressor`.
    pair_degrees : int
        Keep the neighbour list, with its spherical harmonics of the first
        ``pair_degrees`` degrees (``pair_degrees**2`` columns): all
        ``cloud_order`` for later convolutions (``n_clouds > 1``), 2 (the
        directions) for interaction layers (``n_interactions > 0``). With 0 only
        the atom densities are stored.
    per_atom : bool, default=False
        Whether ``y`` holds one row per atom.

    Returns
    -------
    MoleculeDataset
    """
    counts = np.count_nonzero(X[:, :, 0], axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    species = np.searchsorted(elements, X[:, :, 0][X[:, :, 0] > 0].astype(np.int64))
    density = torch.empty(
        offsets[-1], cloud_order**2, len(elements) * n_radial, dtype=DENSITY_DTYPE
    )
    keep_pairs = pair_degrees > 0
    pair_parts: dict[str, list] = {"centre": [], "neighbour": [], "radial": [], "harmonics": []}
    pairs_per_molecule = []
    for start in range(0, len(X), FEATURIZE_CHUNK):
        stop = min(start + FEATURIZE_CHUNK, len(X))
        atoms = slice(offsets[start], offsets[stop])
        pairs = neighbour_pairs(X[start:stop], radius, cloud_order, n_radial, radial_basis)
        density[atoms] = atom_densities(pairs, species[atoms], len(elements))
        if keep_pairs:
            # Pair atom indices are stored relative to their molecule's first atom.
            pair_counts = np.diff(pairs.pair_offsets)
            local = np.repeat(pairs.atom_offsets[:-1], pair_counts)
            pair_parts["centre"].append(torch.from_numpy(pairs.centre - local))
            pair_parts["neighbour"].append(torch.from_numpy(pairs.neighbour - local))
            pair_parts["radial"].append(pairs.radial)
            pair_parts["harmonics"].append(pairs.harmonics[:, : pair_degrees**2])
            pairs_per_molecule.append(pair_counts)
    if keep_pairs:
        pair_arrays = {name: torch.cat(parts) for name, parts in pair_parts.items()}
        pair_offsets = np.concatenate([[0], np.cumsum(np.concatenate(pairs_per_molecule))])
    else:
        pair_arrays = {
            "centre": torch.zeros(0, dtype=torch.int64),
            "neighbour": torch.zeros(0, dtype=torch.int64),
            "radial": torch.zeros(0, n_radial),
            "harmonics": torch.zeros(0, cloud_order**2),
        }
        pair_offsets = np.zeros(len(X) + 1, dtype=np.int64)
    arrays = {
        "atom_offsets": torch.from_numpy(offsets),
        "species": torch.from_numpy(species),
        "density": density,
        # float64, so the training statistics see them as computed; batches are float32.
        "potentials": torch.from_numpy(compress(many_body_potentials(X))),
        "positions": torch.from_numpy(centred_positions(X).astype(np.float32)),
        "pair_offsets": torch.from_numpy(pair_offsets),
        **pair_arrays,
    }
    y_tensor = None if y is None else torch.from_numpy(np.array(y, dtype=np.float32))
    return MoleculeDataset(arrays, y_tensor, per_atom=per_atom)
