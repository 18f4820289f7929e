"""Shapes of every block of the network and its invariance to padding atoms."""

import numpy as np
import pytest
import torch

from acn_sklearn.acn._data import featurize
from acn_sklearn.acn._network import ACNModule, DensityCloud, NeighbourCloud

ELEMENTS = np.array([1, 6, 7, 8, 9])


def _data(qm9_subset, n=7, cloud_order=3, n_radial=5):
    X, y = qm9_subset
    ds = featurize(
        np.asarray(X[:n]),
        np.asarray(y[:n])[:, None],
        elements=ELEMENTS,
        radius=3.0,
        cloud_order=cloud_order,
        n_radial=n_radial,
        pair_degrees=cloud_order,
    )
    return ds.batch(np.arange(n))


def _module(**kw):
    args = dict(
        n_species=5,
        n_outputs=2,
        n_radial=5,
        cloud_order=3,
        embedding_dim=6,
        cloud_channels=6,
        n_clouds=3,
        atom_dim=10,
        hidden_sizes=(9, 7),
        pooling="sum",
        pooling_power=2.0,
        output="linear",
        potentials=True,
    )
    return ACNModule(**{**args, **kw})


def test_batch_shapes(qm9_subset):
    batch, y = _data(qm9_subset)
    n = int(batch.atoms_per_molecule.sum())
    assert len(batch) == 7 and y.shape == (7, 1)
    assert batch.species.shape == batch.molecule.shape == (n,)
    assert batch.density.shape == (n, 9, 25)
    assert batch.potentials.shape == (n, 3)
    assert batch.radial.shape == (len(batch.centre), 5)
    assert batch.harmonics.shape == (len(batch.centre), 9)
    assert int(batch.centre.max()) < n and int(batch.neighbour.max()) < n
    # Every pair joins two atoms of the same molecule.
    assert torch.equal(batch.molecule[batch.centre], batch.molecule[batch.neighbour])


def test_block_shapes(qm9_subset):
    batch, _ = _data(qm9_subset)
    n = len(batch.species)
    cloud = DensityCloud(25, 6, 3)
    assert cloud(batch.density).shape == (n, cloud.n_features) == (n, 24)
    neighbours = NeighbourCloud(10, 6, 5, 3)
    assert neighbours(torch.randn(n, 10), batch).shape == (n, 24)
    module = _module()
    assert module.atom_features(batch).shape == (n, 20)
    assert module(batch).shape == (7, 2)
    assert _module(pooling="power", output="sigmoid", potentials=False)(batch).shape == (7, 2)


def test_sigmoid_output_stays_in_its_range(qm9_subset):
    batch, _ = _data(qm9_subset)
    module = _module(output="sigmoid", pooling="power", pooling_power=3.0)
    module.target_shift.fill_(-10.0)
    module.target_scale.fill_(4.0)
    out = module(batch)
    assert torch.all((out > -10.0) & (out < -6.0))


def test_molecules_do_not_interact_within_a_batch(qm9_subset):
    torch.manual_seed(0)
    module = _module().eval()
    together = module(_data(qm9_subset, n=5)[0])
    first = module(_data(qm9_subset, n=1)[0])
    torch.testing.assert_close(together[:1], first)


def _residual_input(module, batch):
    """Atom features and the input ``h`` the residual block received."""
    seen = []
    handle = module.residual.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    try:
        features = module.atom_features(batch)
    finally:
        handle.remove()
    (h,) = seen
    return features, h


def test_residual_block_output_is_concatenated_with_its_input(qm9_subset):
    # Figure 3 of the paper: [h, h + residual(h)]. Its code lost the skip
    # connection ([h + r, h + r]); shapes and invariance cannot tell.
    torch.manual_seed(0)
    batch, _ = _data(qm9_subset)
    module = _module()
    with torch.no_grad():
        features, h = _residual_input(module, batch)
        r = module.residual(h)
    assert r.abs().mean() > 1e-2, "the residual must be non-zero for this test to bite"
    torch.testing.assert_close(features[:, :10], h)
    torch.testing.assert_close(features[:, 10:], h + r)


def test_a_zero_residual_gives_two_equal_halves(qm9_subset):
    torch.manual_seed(1)
    batch, _ = _data(qm9_subset)
    module = _module(n_clouds=1)
    with torch.no_grad():
        module.residual[-1].weight.zero_()
        module.residual[-1].bias.zero_()
        features, h = _residual_input(module, batch)
    # With one cloud h is the first atom layer itself: softplus(atom_in(...)).
    assert torch.all(h > 0)
    torch.testing.assert_close(features[:, :10], features[:, 10:])
    torch.testing.assert_close(features[:, 10:], h)


def _random_statistics(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        module.target_shift.copy_(torch.randn(module.target_shift.shape, generator=g) * 5)
        module.target_scale.copy_(torch.rand(module.target_scale.shape, generator=g) + 0.5)
        module.element_baseline.copy_(torch.randn(module.element_baseline.shape, generator=g))


def test_sum_pooling_adds_atom_contributions_and_element_baselines(qm9_subset):
    torch.manual_seed(2)
    batch, _ = _data(qm9_subset)
    module = _module(pooling="sum", output="linear")
    _random_statistics(module)
    with torch.no_grad():
        out = module(batch)
        per_atom = module.head(module.atom_features(batch))
    expected = torch.zeros(len(batch), 2)
    for m in range(len(batch)):
        atoms = torch.nonzero(batch.molecule == m).squeeze(1)
        z = per_atom[atoms].sum(dim=0)
        baseline = sum(module.element_baseline[int(batch.species[a])] for a in atoms)
        expected[m] = baseline + module.target_shift + module.target_scale * z
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("power", [1.0, 2.0, 3.0])
def test_power_pooling_is_the_power_mean_over_real_atoms(qm9_subset, power):
    torch.manual_seed(3)
    batch, _ = _data(qm9_subset)
    module = _module(pooling="power", pooling_power=power, output="sigmoid")
    _random_statistics(module)
    with torch.no_grad():
        out = module(batch)
        c = module.atom_features(batch).double()
    counts = torch.bincount(batch.molecule)
    assert counts.min() != counts.max(), "molecules of different sizes make the mean bite"
    for m in range(len(batch)):
        atoms = c[batch.molecule == m]
        pooled = (atoms.abs() ** power).mean(dim=0) ** (1 / power)
        with torch.no_grad():
            z = module.head(pooled.float())
        expected = module.target_shift + module.target_scale * torch.sigmoid(z)
        torch.testing.assert_close(out[m], expected, rtol=1e-5, atol=1e-5)


def _invariants_by_hand(A, channels):
    """Degree-0 component of the first channel set, then per degree the mean over
    m of the product of the two channel sets (module docstring)."""
    parts = [A[0][:, 0, :channels]]
    for a in A:
        parts.append((a[..., :channels] * a[..., channels:]).mean(dim=1))
    return torch.cat(parts, dim=1)


def test_density_cloud_matches_a_direct_contraction(qm9_subset):
    torch.manual_seed(4)
    batch, _ = _data(qm9_subset)
    cloud = DensityCloud(25, 6, 3)
    with torch.no_grad():
        cloud.density_scale.copy_(torch.rand(3, 25) + 0.5)
        out = cloud(batch.density)
    A = [torch.zeros(len(batch.species), 2 * d + 1, 12) for d in range(3)]
    w = cloud.weight.detach()
    for i in range(len(batch.species)):
        for d in range(3):
            D = batch.density[i, d * d : (d + 1) ** 2]  # (2d + 1, 25)
            A[d][i] = D @ (w[d] / cloud.density_scale[d][:, None])
    torch.testing.assert_close(out, _invariants_by_hand(A, 6), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_neighbour_cloud_matches_a_sum_over_neighbours(qm9_subset, order):
    """Also with fewer degrees than the pairs store (degrees 0-2): the lowest ones."""
    torch.manual_seed(5)
    batch, _ = _data(qm9_subset, n=2)
    n = len(batch.species)
    cloud = NeighbourCloud(10, 6, 5, order)
    h = torch.randn(n, 10)
    with torch.no_grad():
        out = cloud(h, batch)
        g = cloud.features(h)  # (n, 12)
        radial = cloud.radial.weight.view(order, 12, 5)  # degree, channel, basis
    A = [torch.zeros(n, 2 * d + 1, 12) for d in range(order)]
    for p in range(len(batch.centre)):
        i, j = int(batch.centre[p]), int(batch.neighbour[p])
        for d in range(order):
            R = radial[d] @ batch.radial[p]  # (12,)
            Y = batch.harmonics[p, d * d : (d + 1) ** 2]  # (2d + 1,)
            A[d][i] += Y[:, None] * (R * g[j])[None, :]
    torch.testing.assert_close(out, _invariants_by_hand(A, 6), rtol=1e-4, atol=1e-5)
