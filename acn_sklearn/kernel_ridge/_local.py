"""The local (atom-pair) Gaussian kernel of FCHL19-style representations.

Molecules are given as arrays of shape (n_molecules, max_atoms, 1 + n_features)
whose rows are ``[Z, atomic environment...]`` (padding rows have ``Z = 0``). The
kernel between two molecules sums a Gaussian over every pair of atoms of the
same element:

    K(I, J) = sum_{a in I} sum_{b in J, Z_a = Z_b} exp(-||x_a - x_b||^2 / (2 sigma^2))

which is what qmllib's ``get_local_kernel`` computes one pair at a time. Here the
atoms of each element are gathered into one matrix, the atom-pair kernel is built
block by block from BLAS products, and each block is summed into molecule pairs
with segment sums, so memory stays bounded by ``block_atoms`` rows. The atom-pair
distances, most of the cost, serve every sigma asked for in the same call.
"""

from __future__ import annotations

import numpy as np

from ._kernels import half_sq_distances_from_products

#: Atoms of the first operand per block.
BLOCK_ATOMS = 2048


class _ElementAtoms:
    """The atoms of one element of a set of molecules, ordered by molecule."""

    def __init__(self, X, element):
        molecule, atom = np.nonzero(X[:, :, 0] == element)  # row-major: sorted by molecule
        self.features = X[molecule, atom, 1:]
        self.sq_norms = np.einsum("ij,ij->i", self.features, self.features)
        self.molecule = molecule

    def __len__(self):
        return len(self.molecule)

    def segments(self, atoms):
        """Molecules of the atoms in slice ``atoms`` and where each one's atoms begin."""
        molecule = self.molecule[atoms]
        first = np.flatnonzero(np.r_[True, molecule[1:] != molecule[:-1]])
        return molecule[first], first


def _add_block(K, a, b, rows, columns, sigmas, weight=1.0):
    """Add the molecule sums of the atom-pair block ``a[rows] x b[columns]`` to K.

    ``K`` has shape (n_sigmas, n_a, n_b): one kernel per sigma, all from the same
    atom-pair distances.
    """
    if rows.start >= len(a) or columns.start >= len(b):
        return
    block = a.features[rows] @ b.features[columns].T
    half_sq_distances_from_products(block, a.sq_norms[rows], b.sq_norms[columns])
    mol_b, first_b = b.segments(columns)
    mol_a, first_a = a.segments(rows)
    pairs = np.ix_(mol_a, mol_b)
    scratch = np.empty_like(block) if len(sigmas) > 1 else None
    for i, sigma in enumerate(sigmas):
        last = i == len(sigmas) - 1  # the distances are no longer needed: reuse them
        values = np.multiply(block, 1.0 / sigma**2, out=block if last else scratch)
        np.exp(values, out=values)
        summed = np.add.reduceat(np.add.reduceat(values, first_b, axis=1), first_a, axis=0)
        if weight != 1.0:
            summed *= weight
        K[i][pairs] += summed


def local_gaussian_kernel(A, B, sigma, *, block_atoms=BLOCK_ATOMS):
    """Local Gaussian kernel between the molecules of A and B.

    Parameters
    ----------
    A : ndarray of shape (n_a, max_atoms_a, 1 + n_features)
        Rows ``[Z, environment...]`` per atom, padding rows with ``Z = 0``.
    B : ndarray of shape (n_b, max_atoms_b, 1 + n_features), or None
        ``None`` computes the symmetric kernel of A with itself, at half the cost.
    sigma : float or array-like of shape (n_sigmas,)
        Gaussian width, or several: the atom-pair distances are computed once
        for all of them.
    block_atoms : int, default=2048
        Atoms of A per block; a block holds ``block_atoms`` times the number of
        atoms of one element in B kernel values (twice that with several sigmas).

    Returns
    -------
    K : ndarray of shape (n_a, n_b), or (n_sigmas, n_a, n_b) for an array of sigmas
    """
    sigmas = np.atleast_1d(np.asarray(sigma, dtype=np.float64))
    symmetric = B is None
    B = A if symmetric else B
    K = np.zeros((len(sigmas), len(A), len(B)))
    elements = np.intersect1d(np.unique(A[:, :, 0]), np.unique(B[:, :, 0]))
    for element in elements[elements > 0]:
        a = _ElementAtoms(A, element)
        b = a if symmetric else _ElementAtoms(B, element)
        for start in range(0, len(a), block_atoms):
            rows = slice(start, start + block_atoms)
            if not symmetric:
                _add_block(K, a, b, rows, slice(0, None), sigmas)
                continue
            # Upper triangle in atom space only: the diagonal block (itself
            # symmetric) counts half, and K + K.T below restores the full sum.
            _add_block(K, a, b, rows, rows, sigmas, weight=0.5)
            _add_block(K, a, b, rows, slice(rows.stop, None), sigmas)
    if symmetric:
        K += K.transpose(0, 2, 1)
    return K if np.ndim(sigma) else K[0]
