"""Predictions are invariant to rotations, reflections, translations, atom order and padding."""

import numpy as np
import pytest
from scipy.stats import special_ortho_group

from acn_sklearn.molecules import n_atoms, to_array

pytestmark = pytest.mark.usefixtures("float32_densities")


def _assert_same(a, b):
    # float32 rounding: predictions are ~2e3 kcal/mol, float32 spacing there is 2.4e-4.
    np.testing.assert_allclose(a, b, rtol=0, atol=5e-3)


@pytest.fixture(scope="module")
def molecules(qm9_subset):
    return np.array(qm9_subset[0][200:260])


def _transform(X, matrix, shift):
    out = X.copy()
    real = X[:, :, 0] > 0
    out[:, :, 1:][real] = X[:, :, 1:][real] @ matrix.T + shift
    return out


@pytest.mark.parametrize("mirror", [False, True])
def test_rotation_reflection_translation(fitted, molecules, mirror):
    reference = fitted.predict(molecules)
    rng = np.random.default_rng(1)
    for _ in range(3):
        matrix = special_ortho_group.rvs(3, random_state=rng)
        if mirror:
            matrix = matrix @ np.diag([1.0, 1.0, -1.0])
        moved = _transform(molecules, matrix, rng.normal(scale=10.0, size=3))
        _assert_same(fitted.predict(moved), reference)


def test_further_clouds_reach_the_network_and_need_the_pairs(fitted, molecules):
    """The regressor hands its clouds and interaction layers to the network (each
    fixture's setting); the convolutions after the first and the interaction layers
    need the neighbour pairs, the first cloud alone does not."""
    network = getattr(fitted.module_, "network", fitted.module_)
    assert [c.cloud_order for c in network.clouds] == [fitted.cloud_order] * (fitted.n_clouds - 1)
    assert network.cloud.weight.shape[0] == fitted.cloud_order
    batch, _ = fitted._featurize(molecules[:3]).batch(np.arange(3))
    assert (len(batch.centre) > 0) == (fitted.n_clouds > 1 or fitted.n_interactions > 0)
    layers = [] if network.interactions is None else network.interactions.layers
    assert len(layers) == fitted.n_interactions


def test_atom_permutation(fitted, molecules):
    rng = np.random.default_rng(2)
    shuffled = molecules.copy()
    for i, n in enumerate(n_atoms(molecules)):
        shuffled[i, :n] = molecules[i, rng.permutation(n)]
    _assert_same(fitted.predict(shuffled), fitted.predict(molecules))


def test_padding_and_batch_neighbours_change_nothing(fitted, molecules):
    reference = fitted.predict(molecules)
    _assert_same(fitted.predict(to_array(molecules, max_atoms=40)), reference)
    alone = np.concatenate([fitted.predict(molecules[i : i + 1]) for i in range(5)])
    _assert_same(alone, reference[:5])
    assert np.array_equal(to_array(molecules, max_atoms=40)[:, 29:], np.zeros((60, 11, 4)))


def test_input_formats_give_same_predictions(fitted, molecules, qm9_subset_atoms):
    from acn_sklearn.molecules import to_zr

    _assert_same(fitted.predict(qm9_subset_atoms[200:260]), fitted.predict(molecules))
    _assert_same(fitted.predict(to_zr(molecules)), fitted.predict(molecules))
