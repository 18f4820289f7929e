"""Geometry-only features of AtomCloudNet: neighbour lists, radial basis, spherical harmonics.

None of these change during training, so they are computed once per data set
(:func:`neighbour_pairs`, :func:`atom_densities`) and the network only ever
multiplies them by learned weights.

The *atom density* of atom ``i`` is the neighbour sum the first AtomCloud
convolution needs, before any learned weight::

    D_i[lm, s, k] = sum_{j within radius, element(j) = s} phi_k(r_ij) Y_lm(r_ij / |r_ij|)

with ``phi_k`` a smooth radial basis that goes to zero at ``radius``. A learned
radial function that is linear in ``phi_k`` turns it into the convolution output
exactly, so the first cloud costs one small matrix product per atom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from e3nn import o3


def radial_basis(
    distance: torch.Tensor, radius: float, n_radial: int, basis: str = "bessel"
) -> torch.Tensor:
    """Radial basis functions that vanish smoothly at the cutoff.

    Parameters
    ----------
    distance : Tensor of shape (n_pairs,)
        Interatomic distances in Angstrom (positive).
    radius : float
        Cutoff radius: every basis function and its derivative vanish there.
    n_radial : int
        Number of basis functions.
    basis : {"bessel", "gaussian"}, default="bessel"
        ``"bessel"``: the spherical Bessel functions of degree 0,
        ``sin(k pi r / radius) / r`` for ``k = 1 .. n_radial`` (the radial
        eigenfunctions of a sphere of that radius, as in DimeNet), times the
        polynomial envelope ``1 - 28 d^6 + 48 d^7 - 21 d^8`` of
        ``d = r / radius`` (zero at the cutoff with its first and second
        derivatives). ``"gaussian"``: Gaussians centred evenly on
        ``[0, radius]`` times the cosine envelope ``(cos(pi r / radius) + 1) / 2``.

    Returns
    -------
    Tensor of shape (n_pairs, n_radial)
    """
    d = distance / radius
    inside = distance < radius
    if basis == "bessel":
        k = torch.arange(1, n_radial + 1, dtype=distance.dtype)
        values = torch.sin(torch.pi * k * d[:, None]) / distance[:, None]
        # Products only: torch's pow rounds differently in and after its vector
        # loop, which would make a pair's value depend on its place in the batch.
        d3 = d * d * d
        envelope = 1.0 + d3 * d3 * (-28.0 + d * (48.0 - 21.0 * d))
    elif basis == "gaussian":
        centres = torch.linspace(0.0, radius, n_radial, dtype=distance.dtype)
        width = radius / max(n_radial - 1, 1)
        values = torch.exp(-0.5 * ((distance[:, None] - centres) / width) ** 2)
        envelope = 0.5 * (torch.cos(torch.pi * d) + 1.0)
    else:
        raise ValueError(f"basis must be 'bessel' or 'gaussian', got {basis!r}")
    envelope = torch.where(inside, envelope, torch.zeros_like(envelope))
    return values * envelope[:, None]


@dataclass
class NeighbourPairs:
    """Sparse neighbour list of a set of molecules (real atoms only, no padding).

    Atoms are numbered globally in the order they appear in X (molecule by
    molecule, padding skipped); pairs are ordered by molecule.

    Attributes
    ----------
    atom_offsets : ndarray of shape (n_molecules + 1,)
        Atoms of molecule ``m`` are ``atom_offsets[m]:atom_offsets[m + 1]``.
    pair_offsets : ndarray of shape (n_molecules + 1,)
        The same for pairs.
    centre, neighbour : ndarray of shape (n_pairs,)
        Global atom index of the centre atom ``i`` and of its neighbour ``j``.
    radial : Tensor of shape (n_pairs, n_radial)
        Radial basis values ``phi_k(r_ij)``.
    harmonics : Tensor of shape (n_pairs, cloud_order**2)
        Real spherical harmonics of the direction ``i -> j``, degrees
        ``0 .. cloud_order - 1`` (e3nn's "component" normalisation).
    """

    atom_offsets: np.ndarray
    pair_offsets: np.ndarray
    centre: np.ndarray
    neighbour: np.ndarray
    radial: torch.Tensor
    harmonics: torch.Tensor


def degree_mean(cloud_order: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The mean over ``m`` of each degree as a matrix, (cloud_order**2, cloud_order).

    Harmonic columns are ordered ``(l, m)``, degree ``l`` taking ``2l + 1``
    columns from ``l**2``; ``x @ degree_mean(L)`` averages each degree's columns.
    """
    degree = torch.repeat_interleave(torch.arange(cloud_order), 2 * torch.arange(cloud_order) + 1)
    return torch.nn.functional.one_hot(degree).to(dtype) / (2 * degree[:, None] + 1)


def groups_by_size(X: np.ndarray, block: int = 1 << 18):
    """Yield ``(molecules, n)`` blocks of molecules that all have ``n`` real atoms.

    Vectorised work on ``X[molecules, :n]`` then never touches padding. Each
    block has at most ``block // n**2`` molecules (bounds memory).

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Validated canonical molecules.
    block : int
        Upper bound on molecules x atoms**2 per block.
    """
    counts = np.count_nonzero(X[:, :, 0], axis=1)
    for n in np.unique(counts):
        members = np.flatnonzero(counts == n)
        step = max(1, block // int(n) ** 2)
        for start in range(0, len(members), step):
            yield members[start : start + step], int(n)


def neighbour_pairs(
    X: np.ndarray, radius: float, cloud_order: int, n_radial: int, basis: str = "bessel"
) -> NeighbourPairs:
    """All ordered pairs of distinct real atoms closer than ``radius``.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Validated canonical molecules.
    radius : float
        Neighbour cutoff in Angstrom.
    cloud_order : int
        Spherical harmonics of degrees ``0 .. cloud_order - 1``.
    n_radial : int
        Size of the radial basis.
    basis : {"bessel", "gaussian"}, default="bessel"
        The radial basis (:func:`radial_basis`).

    Returns
    -------
    NeighbourPairs
    """
    counts = np.count_nonzero(X[:, :, 0], axis=1)
    atom_offsets = np.concatenate([[0], np.cumsum(counts)])
    centres, neighbours, vectors = [], [], []
    for mols, n in groups_by_size(X):
        R = torch.from_numpy(X[mols, :n, 1:])
        diff = R[:, None, :, :] - R[:, :, None, :]  # [m, i, j] = R_j - R_i
        close = torch.linalg.vector_norm(diff, dim=-1) < radius
        close &= ~torch.eye(n, dtype=torch.bool)
        mol, i, j = close.nonzero(as_tuple=True)
        base = torch.from_numpy(atom_offsets[mols])[mol]
        centres.append(base + i)
        neighbours.append(base + j)
        vectors.append(diff[mol, i, j].to(torch.float32))
    centre = torch.cat(centres)
    # Blocks come by molecule size: restore the order of X (molecule, then centre atom).
    order = torch.argsort(centre, stable=True)
    centre = centre[order].numpy()
    vec = torch.cat(vectors)[order]
    dist = torch.linalg.vector_norm(vec, dim=-1)
    harmonics = o3.spherical_harmonics(
        list(range(cloud_order)), vec, normalize=True, normalization="component"
    )
    molecule = np.searchsorted(atom_offsets, centre, side="right") - 1
    pairs_per_mol = np.bincount(molecule, minlength=len(X))
    return NeighbourPairs(
        atom_offsets=atom_offsets,
        pair_offsets=np.concatenate([[0], np.cumsum(pairs_per_mol)]),
        centre=centre,
        neighbour=torch.cat(neighbours)[order].numpy(),
        radial=radial_basis(dist, radius, n_radial, basis),
        harmonics=harmonics,
    )


def atom_densities(pairs: NeighbourPairs, species: np.ndarray, n_species: int) -> torch.Tensor:
    """Neighbour density of every atom, resolved by neighbour element.

    Parameters
    ----------
    pairs : NeighbourPairs
        From :func:`neighbour_pairs`.
    species : ndarray of int of shape (n_atoms,)
        Element index (``0 .. n_species - 1``) of every real atom.
    n_species : int
        Number of elements the model knows.

    Returns
    -------
    Tensor of shape (n_atoms, cloud_order**2, n_species * n_radial), float32
        ``D[i, lm, s * n_radial + k]`` as in the module docstring.
    """
    n_atoms = len(species)
    n_radial = pairs.radial.shape[1]
    n_harmonics = pairs.harmonics.shape[1]
    density = torch.zeros(n_atoms * n_species, n_harmonics, n_radial)
    row = torch.from_numpy(pairs.centre * n_species + species[pairs.neighbour])
    for start in range(0, len(row), 1 << 18):
        stop = start + (1 << 18)
        outer = pairs.harmonics[start:stop, :, None] * pairs.radial[start:stop, None, :]
        density.index_add_(0, row[start:stop], outer)
    density = density.view(n_atoms, n_species, n_harmonics, n_radial).transpose(1, 2)
    return density.reshape(n_atoms, n_harmonics, n_species * n_radial)
