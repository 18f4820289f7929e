"""Many-body potentials against a direct computation (angles in radians)."""

import itertools

import numpy as np

from acn_sklearn.acn._potentials import compress, many_body_potentials
from acn_sklearn.molecules import to_array


def _direct(Z, R):
    n = len(Z)
    V = np.zeros((n, 3))
    for i in range(n):
        V[i, 0] = Z[i]
        V[i, 1] = Z[i] * sum(Z[j] / np.linalg.norm(R[i] - R[j]) ** 6 for j in range(n) if j != i)
        total = 0.0
        for j, k in itertools.combinations([a for a in range(n) if a != i], 2):
            rij, rjk, rki = (np.linalg.norm(R[a] - R[b]) for a, b in ((i, j), (j, k), (k, i)))
            angles = []
            for a, b, c in ((i, j, k), (j, k, i), (k, i, j)):  # angle at a
                u, w = R[b] - R[a], R[c] - R[a]
                angles.append(np.arccos(u @ w / np.linalg.norm(u) / np.linalg.norm(w)))
            cosines = np.prod(np.cos(angles))  # radians
            total += Z[j] * Z[k] * (1 + 3 * cosines) / (rij * rjk * rki) ** 3
        V[i, 2] = Z[i] * total
    return V


def test_potentials_match_direct_computation():
    rng = np.random.default_rng(0)
    molecules = [
        (np.array([8, 1, 1]), np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])),
        (np.array([6, 1, 1, 7, 9]), rng.normal(scale=1.2, size=(5, 3))),
    ]
    X = to_array(molecules, max_atoms=7)
    V = many_body_potentials(X)
    expected = np.concatenate([_direct(Z, R) for Z, R in molecules])
    np.testing.assert_allclose(V, expected, rtol=2e-5)


def test_potentials_ignore_padding_and_other_molecules(qm9_subset):
    X = np.asarray(qm9_subset[0][:20])
    alone = np.concatenate([many_body_potentials(X[i : i + 1]) for i in range(len(X))])
    np.testing.assert_allclose(many_body_potentials(X), alone, rtol=1e-5)
    wider = np.pad(X, ((0, 0), (0, 6), (0, 0)))
    np.testing.assert_allclose(many_body_potentials(wider), alone, rtol=1e-5)


def test_compress_is_a_signed_log():
    np.testing.assert_allclose(compress(np.array([-np.e + 1, 0.0, 1e6])), [-1, 0, np.log1p(1e6)])
