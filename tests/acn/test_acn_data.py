"""Mini-batches gather the right atoms and pairs, whatever molecules they take, in any order."""

import numpy as np
import pytest
import torch

from acn_sklearn.acn._data import featurize
from acn_sklearn.acn._geometry import neighbour_pairs
from acn_sklearn.acn._potentials import compress, many_body_potentials

ELEMENTS = np.array([1, 6, 7, 8, 9])


@pytest.fixture(scope="module")
def dataset(qm9_subset):
    X, y = qm9_subset
    X = np.asarray(X[:12])
    ds = featurize(
        X,
        np.asarray(y[:12])[:, None],
        elements=ELEMENTS,
        radius=3.0,
        cloud_order=3,
        n_radial=4,
        pair_degrees=4,
    )
    return X, np.asarray(y[:12]), ds


def _molecule_by_hand(X, m, radius=3.0):
    """Species, potentials and neighbour pairs (by distance) of molecule m alone."""
    n = int(np.count_nonzero(X[m, :, 0]))
    Z, R = X[m, :n, 0].astype(int), X[m, :n, 1:]
    d = np.linalg.norm(R[:, None] - R[None], axis=-1)
    pairs = {(i, j) for i, j in zip(*np.nonzero((d < radius) & (d > 0)), strict=True)}
    V = compress(many_body_potentials(X[m : m + 1]))
    return np.searchsorted(ELEMENTS, Z), V, pairs, d


@pytest.mark.parametrize("positions", [[7, 2, 9], [11, 0], [5]])
def test_a_batch_of_scattered_molecules_holds_exactly_their_atoms_and_pairs(dataset, positions):
    X, y, ds = dataset
    batch, y_batch = ds.batch(positions)
    np.testing.assert_allclose(y_batch[:, 0].numpy(), y[positions], rtol=1e-6)
    assert len(batch) == len(positions)
    for k, m in enumerate(positions):
        species, V, pairs, d = _molecule_by_hand(X, m)
        atoms = torch.nonzero(batch.molecule == k).squeeze(1)
        assert batch.atoms_per_molecule[k] == len(species) == len(atoms)
        np.testing.assert_array_equal(batch.species[atoms].numpy(), species)
        np.testing.assert_allclose(batch.potentials[atoms].numpy(), V, rtol=1e-5)
        first = int(atoms[0])
        mine = torch.nonzero(batch.molecule[batch.centre] == k).squeeze(1)
        got = {(int(batch.centre[p]) - first, int(batch.neighbour[p]) - first) for p in mine}
        assert got == pairs
        # Each pair's radial basis belongs to its own distance.
        for p in mine[:5]:
            i, j = int(batch.centre[p]) - first, int(batch.neighbour[p]) - first
            twin = ds.batch([m])[0]
            q = torch.nonzero((twin.centre == i) & (twin.neighbour == j)).item()
            torch.testing.assert_close(batch.radial[p], twin.radial[q])
            assert d[i, j] < 3.0


def test_a_subset_is_a_view_on_the_chosen_molecules(dataset):
    _, y, ds = dataset
    sub = ds.subset([10, 3, 4])
    assert len(sub) == 3
    batch, y_sub = sub.batch([2, 0])  # molecules 4 and 10
    np.testing.assert_allclose(y_sub[:, 0].numpy(), y[[4, 10]], rtol=1e-6)
    direct, _ = ds.batch([4, 10])
    for name in ("species", "density", "potentials", "centre", "neighbour", "radial"):
        torch.testing.assert_close(getattr(batch, name), getattr(direct, name))
    # A subset of a subset still counts positions in its parent.
    nested, y_nested = sub.subset([2, 0]).batch([1, 0])  # molecules 10 and 4
    np.testing.assert_allclose(y_nested[:, 0].numpy(), y[[10, 4]], rtol=1e-6)
    torch.testing.assert_close(nested.species, ds.batch([10, 4])[0].species)


def _pair(distance):
    return np.array([[[6, 0.0, 0.0, 0.0], [1, 0.0, 0.0, distance]]])


@pytest.mark.parametrize("radius", [1.5, 3.0])
def test_a_neighbour_just_inside_the_radius_counts_and_just_outside_does_not(radius):
    inside = neighbour_pairs(_pair(radius - 1e-4), radius, cloud_order=2, n_radial=4)
    assert sorted(zip(inside.centre.tolist(), inside.neighbour.tolist(), strict=True)) == [
        (0, 1),
        (1, 0),
    ]
    outside = neighbour_pairs(_pair(radius + 1e-4), radius, cloud_order=2, n_radial=4)
    assert len(outside.centre) == 0 and outside.pair_offsets.tolist() == [0, 0]


def test_the_last_atom_of_a_29_atom_molecule_is_a_neighbour_and_has_potentials():
    # A 29-atom chain 1.1 A apart next to a small molecule: the 29th row is a real atom.
    chain = np.zeros((2, 29, 4))
    chain[0, :, 0] = 6
    chain[0, :, 3] = 1.1 * np.arange(29)
    chain[1, :2] = _pair(1.1)[0]
    pairs = neighbour_pairs(chain, 1.5, cloud_order=2, n_radial=4)
    found = set(zip(pairs.centre.tolist(), pairs.neighbour.tolist(), strict=True))
    chain_pairs = {(i, i + 1) for i in range(28)} | {(i + 1, i) for i in range(28)}
    assert found == chain_pairs | {(29, 30), (30, 29)}
    assert pairs.atom_offsets.tolist() == [0, 29, 31]
    V = many_body_potentials(chain)
    assert V.shape == (31, 3)
    # The end atoms of the chain see the same neighbours (by symmetry), so the same V.
    np.testing.assert_allclose(V[28], V[0], rtol=1e-5)
    # V_ij of the last atom: 6 * sum_j 6 / r**6 over the 28 others.
    expected = 6 * sum(6 / (1.1 * k) ** 6 for k in range(1, 29))
    assert V[28, 1] == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("pair_degrees", [0, 2, 3])
def test_featurizing_in_chunks_changes_nothing(qm9_subset, monkeypatch, pair_degrees):
    """Chunks of 7 molecules (the last one partial) give the arrays of one pass, bit for bit."""
    import acn_sklearn.acn._data as data

    X, y = qm9_subset
    X, y = np.asarray(X[:40]), np.asarray(y[:40])[:, None]
    settings = dict(
        elements=np.array([1, 6, 7, 8, 9]),
        radius=3.0,
        cloud_order=3,
        n_radial=4,
        pair_degrees=pair_degrees,
    )
    whole = data.featurize(X, y, **settings)
    monkeypatch.setattr(data, "FEATURIZE_CHUNK", 7)
    chunked = data.featurize(X, y, **settings)
    assert whole.arrays.keys() == chunked.arrays.keys()
    for name, array in whole.arrays.items():
        assert torch.equal(array, chunked.arrays[name]), name
    assert (len(whole.arrays["centre"]) > 0) == (pair_degrees > 0)
    if pair_degrees:
        assert whole.arrays["harmonics"].shape[1] == pair_degrees**2


def test_densities_are_stored_rounded_to_half_precision(qm9_subset):
    """The stored densities are the float32 sums rounded to the nearest float16 (a
    relative error of at most 2^-11), and batches hand them to the network as float32."""
    import acn_sklearn.acn._data as data
    from acn_sklearn.acn._geometry import atom_densities

    X = np.asarray(qm9_subset[0][:20])
    ds = data.featurize(
        X, None, elements=ELEMENTS, radius=3.0, cloud_order=4, n_radial=4, pair_degrees=0
    )
    pairs = neighbour_pairs(X, 3.0, cloud_order=4, n_radial=4)
    species = np.searchsorted(ELEMENTS, X[:, :, 0][X[:, :, 0] > 0].astype(np.int64))
    exact = atom_densities(pairs, species, len(ELEMENTS))
    stored = ds.arrays["density"]
    assert stored.dtype == torch.float16
    assert torch.equal(stored, exact.to(torch.float16))
    normal = exact.abs() > torch.finfo(torch.float16).tiny
    relative = (stored.float() - exact).abs()[normal] / exact.abs()[normal]
    assert 0 < relative.max() <= 2.0**-11
    batch, _ = ds.batch(np.arange(20))
    assert batch.density.dtype == torch.float32
    assert torch.equal(batch.density, stored.float())
