"""Per-atom many-body potentials V_i, V_ij and V_ijk (paper section B.4).

For atom ``i`` of a molecule (sums over the other real atoms of the same
molecule, no cutoff)::

    V_i   = Z_i
    V_ij  = Z_i * sum_{j != i} Z_j / R_ij**6
    V_ijk = Z_i * sum_{j < k; j, k != i} Z_j Z_k (1 + 3 cos(a) cos(b) cos(c)) / (R_ij R_jk R_ki)**3

``V_ijk`` is the Axilrod-Teller-Muto triple-dipole term with ``a, b, c`` the
interior angles of the triangle ``i, j, k``. Its cosines come from dot products
of unit vectors, so no angle is ever converted between degrees and radians.
(The paper's equation 7 drops the factor 3 of the Axilrod-Teller-Muto formula;
the physical form is used here.)

Molecules are grouped by their number of atoms, so the dense ``n x n x n``
triple sums never touch padding.
"""

from __future__ import annotations

import numpy as np
import torch

#: Upper bound on (molecules x atoms**3) per vectorised block (bounds memory).
_BLOCK = 1 << 22


def _potentials_same_size(Z: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Potentials of molecules that all have ``n`` real atoms: (m, n, 3)."""
    n = Z.shape[1]
    diff = R[:, None, :, :] - R[:, :, None, :]  # [m, i, j] = R_j - R_i
    dist = torch.linalg.vector_norm(diff, dim=-1)
    off = ~torch.eye(n, dtype=torch.bool)
    safe = torch.where(off, dist, torch.ones_like(dist))
    inv3 = torch.where(off, safe**-3, torch.zeros_like(dist))
    unit = diff / safe[..., None]
    v_ij = Z * torch.einsum("mij,mj->mi", inv3**2, Z)
    # cos_ijk = cos of the angle at i in triangle (i, j, k) = u_ij . u_ik
    cos = torch.einsum("mijx,mikx->mijk", unit, unit)
    angular = 1.0 + 3.0 * cos * cos.permute(0, 2, 1, 3) * cos.permute(0, 3, 2, 1)
    # weight[m, i, j, k] = Z_j Z_k / (R_ij R_jk R_ki)^3; zero unless i, j, k distinct
    weight = inv3[:, :, :, None] * inv3[:, None, :, :] * inv3[:, :, None, :]
    weight = weight * Z[:, None, :, None] * Z[:, None, None, :]
    v_ijk = 0.5 * Z * (weight * angular).sum(dim=(2, 3))
    return torch.stack([Z, v_ij, v_ijk], dim=-1)


def many_body_potentials(X: np.ndarray) -> np.ndarray:
    """Per-atom potentials of every real atom of every molecule.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Validated canonical molecules.

    Returns
    -------
    V : ndarray of shape (n_real_atoms, 3), float64
        Columns ``V_i, V_ij, V_ijk`` (charges in e, distances in Angstrom), one
        row per real atom in the order they appear in X (padding skipped).
    """
    counts = np.count_nonzero(X[:, :, 0], axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    V = np.zeros((offsets[-1], 3))
    for n in np.unique(counts):
        members = np.flatnonzero(counts == n)
        step = max(1, _BLOCK // int(n) ** 3)
        for start in range(0, len(members), step):
            mols = members[start : start + step]
            block = torch.from_numpy(X[mols, :n])
            values = _potentials_same_size(block[:, :, 0], block[:, :, 1:]).numpy()
            rows = (offsets[mols][:, None] + np.arange(n)).ravel()
            V[rows] = values.reshape(-1, 3)
    return V


def compress(V: np.ndarray) -> np.ndarray:
    """Signed logarithm ``sign(V) log(1 + |V|)``: tames the R**-6 and R**-9 tails."""
    return np.sign(V) * np.log1p(np.abs(V))
