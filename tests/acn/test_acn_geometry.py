"""Neighbour lists, radial basis, spherical harmonics and atom densities."""

import numpy as np
import pytest
import torch
from e3nn import o3

from acn_sklearn.acn._geometry import atom_densities, neighbour_pairs, radial_basis


@pytest.mark.parametrize("basis", ["bessel", "gaussian"])
def test_radial_basis_is_smooth_and_cut_off(basis):
    r = torch.tensor([0.5, 2.0, 2.999, 3.0, 3.5])
    phi = radial_basis(r, radius=3.0, n_radial=8, basis=basis)
    assert phi.shape == (5, 8)
    assert torch.all(phi[3:] == 0)
    assert torch.all(phi[2].abs() < 1e-5)  # continuous at the cutoff
    assert torch.all(phi[:2].abs().sum(dim=1) > 0.1)


@pytest.mark.parametrize("radius", [2.0, 3.0, 5.0])
def test_neighbour_pairs_match_brute_force(qm9_subset, radius):
    X = np.asarray(qm9_subset[0][:30])
    pairs = neighbour_pairs(X, radius, cloud_order=3, n_radial=8)
    expected = set()
    offset = 0
    for mol in X:
        n = int(np.count_nonzero(mol[:, 0]))
        R = mol[:n, 1:]
        d = np.linalg.norm(R[:, None] - R[None], axis=-1)
        for i, j in zip(*np.nonzero((d < radius) & ~np.eye(n, dtype=bool)), strict=True):
            expected.add((offset + i, offset + j))
        offset += n
    assert set(zip(pairs.centre.tolist(), pairs.neighbour.tolist(), strict=True)) == expected
    assert len(pairs.centre) == len(expected) == pairs.pair_offsets[-1]
    assert pairs.atom_offsets[-1] == offset
    assert pairs.harmonics.shape == (len(expected), 9)
    assert pairs.radial.shape == (len(expected), 8)


def test_atom_density_matches_a_direct_sum(qm9_subset):
    X = np.asarray(qm9_subset[0][:3])
    elements = np.array([1, 6, 7, 8, 9])
    pairs = neighbour_pairs(X, 3.0, cloud_order=3, n_radial=4)
    Z = X[:, :, 0][X[:, :, 0] > 0].astype(int)
    R = X[:, :, 1:][X[:, :, 0] > 0]
    species = np.searchsorted(elements, Z)
    density = atom_densities(pairs, species, len(elements)).numpy()
    assert density.shape == (len(Z), 9, 5 * 4)
    # Atom 0 of molecule 0, directly from the definition.
    n0 = int(np.count_nonzero(X[0, :, 0]))
    expected = np.zeros((9, 5, 4))
    for j in range(1, n0):
        v = torch.tensor(R[j] - R[0], dtype=torch.float32)
        r = torch.linalg.vector_norm(v)
        if r < 3.0:
            y = o3.spherical_harmonics([0, 1, 2], v, normalize=True, normalization="component")
            phi = radial_basis(r[None], 3.0, 4)[0]
            expected[:, species[j]] += np.outer(y.numpy(), phi.numpy())
    np.testing.assert_allclose(density[0], expected.reshape(9, 20), atol=1e-5)


@pytest.mark.parametrize(("radius", "n_radial"), [(3.0, 4), (5.0, 12)])
def test_radial_gaussians_are_centred_evenly_on_zero_to_radius(radius, n_radial):
    centres = np.linspace(0.0, radius, n_radial)[:-1]  # the last one sits on the cutoff
    r = torch.tensor(centres, dtype=torch.float64)
    phi = radial_basis(r, radius=radius, n_radial=n_radial, basis="gaussian").numpy()
    envelope = 0.5 * (np.cos(np.pi * centres / radius) + 1.0)
    # At its own centre a Gaussian is 1, so phi_k(c_k) is the cosine envelope alone,
    # and it is the largest of the basis functions there.
    np.testing.assert_allclose(np.diag(phi), envelope, rtol=1e-12)
    assert np.all(np.argmax(phi, axis=1) == np.arange(n_radial - 1))
    # Halfway to the cutoff the envelope is exactly one half.
    half = radial_basis(
        torch.tensor([radius / 2], dtype=torch.float64), radius, n_radial, basis="gaussian"
    )
    width = radius / (n_radial - 1)
    gauss = np.exp(-0.5 * ((radius / 2 - np.linspace(0, radius, n_radial)) / width) ** 2)
    np.testing.assert_allclose(half[0].numpy(), 0.5 * gauss, rtol=1e-12)


def test_bessel_basis_matches_its_formula_and_vanishes_smoothly():
    radius, n_radial = 4.0, 6
    r = torch.tensor([0.9, 1.5, 2.7, 3.9], dtype=torch.float64)
    phi = radial_basis(r, radius, n_radial, basis="bessel").numpy()
    d = r.numpy() / radius
    k = np.arange(1, n_radial + 1)
    # DimeNet's envelope for p = 6: 1 - (p+1)(p+2)/2 d^p + p(p+2) d^(p+1) - p(p+1)/2 d^(p+2).
    envelope = 1 - 28 * d**6 + 48 * d**7 - 21 * d**8
    expected = np.sin(np.pi * np.outer(d, k)) / r.numpy()[:, None] * envelope[:, None]
    # (The envelope cancels to ~1e-5 near the cutoff, so compare absolutely too.)
    np.testing.assert_allclose(phi, expected, rtol=1e-10, atol=1e-14)
    # Value, slope and curvature all go to zero at the cutoff, and beyond it phi is 0.
    near = torch.tensor([radius - 1e-3], dtype=torch.float64, requires_grad=True)
    value = radial_basis(near, radius, n_radial, basis="bessel").sum()
    (slope,) = torch.autograd.grad(value, near, create_graph=True)
    (curvature,) = torch.autograd.grad(slope.sum(), near)
    assert abs(value.item()) < 1e-7 and abs(slope.item()) < 1e-4 and abs(curvature.item()) < 0.1
    beyond = radial_basis(torch.tensor([radius, radius + 1.0]), radius, n_radial, "bessel")
    assert torch.all(beyond == 0)


def test_radial_basis_names_an_unknown_basis():
    with pytest.raises(ValueError, match="basis must be 'bessel' or 'gaussian', got 'slater'"):
        radial_basis(torch.tensor([1.0]), 3.0, 4, basis="slater")
