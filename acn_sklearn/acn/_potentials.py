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

Molecules are grouped by their number of atoms, so the triple sums never touch
padding.
"""

from __future__ import annotations

import numpy as np
import torch

from ._geometry import groups_by_size


def _potentials_same_size(Z: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
    """Potentials of ``m`` molecules that all have ``n`` real atoms: (m, n, 3).

    With ``a_ij = Z_j / R_ij**3``, ``b_jk = 1 / R_jk**3`` (zero on the diagonal)
    and unit vectors ``u_ij``, the cosines of the triangle are ``cos_i = u_ij.u_ik``,
    ``cos_j = -u_ij.u_jk`` and ``cos_k = u_ik.u_jk``, so::

        sum_jk a_ij a_ik b_jk (1 + 3 cos_i cos_j cos_k)
          = sum_jk a_ij b_jk a_ik - 3 sum_xyz sum_jk P^xy_ij Q^yz_jk P^xz_ik

    with ``P^xy_ij = a_ij u^x_ij u^y_ij`` and ``Q^yz_jk = b_jk u^y_jk u^z_jk``:
    batched matrix products instead of an ``n x n x n`` tensor per molecule.
    """
    m, n = Z.shape
    diff = R[:, None, :, :] - R[:, :, None, :]  # [m, i, j] = R_j - R_i
    dist = torch.linalg.vector_norm(diff, dim=-1)
    off = ~torch.eye(n, dtype=torch.bool)
    safe = torch.where(off, dist, torch.ones_like(dist))
    b = torch.where(off, safe**-3, torch.zeros_like(dist))
    a = b * Z[:, None, :]
    unit = diff / safe[..., None]
    outer = unit[..., :, None] * unit[..., None, :]  # (m, n, n, 3, 3)

    def as_matrix(t):  # [m, i, j, x, y] -> [m, (i, x), (j, y)]
        return t.permute(0, 1, 3, 2, 4).reshape(m, 3 * n, 3 * n)

    P = as_matrix(a[..., None, None] * outer)
    Q = as_matrix(b[..., None, None] * outer)
    dipole = ((a @ b) * a).sum(dim=2)
    angular = ((P @ Q) * P).reshape(m, n, -1).sum(dim=2)
    v_ij = Z * (a * b).sum(dim=2)
    v_ijk = 0.5 * Z * (dipole - 3.0 * angular)
    return torch.stack([Z, v_ij, v_ijk], dim=-1)


def many_body_potentials(X: np.ndarray) -> np.ndarray:
    """Per-atom potentials of every real atom of every molecule.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Validated canonical molecules.

    Returns
    -------
    V : ndarray of shape (n_real_atoms, 3), float64 (computed in float32)
        Columns ``V_i, V_ij, V_ijk`` (charges in e, distances in Angstrom), one
        row per real atom in the order they appear in X (padding skipped).
    """
    counts = np.count_nonzero(X[:, :, 0], axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    V = np.zeros((offsets[-1], 3))
    for mols, n in groups_by_size(X, block=1 << 16):
        block = torch.from_numpy(X[mols, :n]).to(torch.float32)
        values = _potentials_same_size(block[:, :, 0], block[:, :, 1:]).numpy()
        rows = (offsets[mols][:, None] + np.arange(n)).ravel()
        V[rows] = values.reshape(-1, 3)
    return V


def compress(V: np.ndarray) -> np.ndarray:
    """Signed logarithm ``sign(V) log(1 + |V|)``: tames the R**-6 and R**-9 tails."""
    return np.sign(V) * np.log1p(np.abs(V))
