"""Shapes of every block of the network and its invariance to padding atoms."""

import numpy as np
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
        keep_pairs=True,
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
        element_clouds=True,
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
    for n_centres in (1, 5):
        cloud = DensityCloud(n_centres, 25, 6, 3)
        assert cloud(batch.density, batch.species).shape == (n, cloud.n_features) == (n, 24)
    neighbours = NeighbourCloud(10, 6, 5, 3)
    assert neighbours(torch.randn(n, 10), batch).shape == (n, 24)
    module = _module()
    assert module.atom_features(batch).shape == (n, 20)
    assert module(batch).shape == (7, 2)
    assert _module(pooling="power", output="sigmoid", potentials=False)(batch).shape == (7, 2)


def test_element_cloud_weights_act_on_their_own_element_only(qm9_subset):
    batch, _ = _data(qm9_subset)
    cloud = DensityCloud(5, 25, 6, 3)
    before = cloud(batch.density, batch.species)
    with torch.no_grad():
        cloud.weight[1].mul_(2.0)  # carbon centres
    after = cloud(batch.density, batch.species)
    carbon = batch.species == 1
    assert torch.equal(after[~carbon], before[~carbon])
    assert not torch.allclose(after[carbon], before[carbon])


def test_shared_cloud_weights_equal_identical_element_weights(qm9_subset):
    batch, _ = _data(qm9_subset)
    shared = DensityCloud(1, 25, 6, 3)
    per_element = DensityCloud(5, 25, 6, 3)
    with torch.no_grad():
        per_element.weight.copy_(shared.weight.expand_as(per_element.weight))
    torch.testing.assert_close(
        per_element(batch.density, batch.species), shared(batch.density, batch.species)
    )


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
