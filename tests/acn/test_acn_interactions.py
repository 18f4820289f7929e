"""Interaction layers: each contraction against a direct loop over pairs, equivariance of
the vector features, invariance of the predictions, and a network without them unchanged."""

import numpy as np
import pytest
import torch
from e3nn import o3
from scipy.stats import special_ortho_group

from acn_sklearn import ACNRegressor
from acn_sklearn.acn._data import featurize
from acn_sklearn.acn._geometry import radial_basis
from acn_sklearn.acn._interactions import Interaction, Interactions, pair_directions
from acn_sklearn.acn._network import ACNModule
from acn_sklearn.molecules import n_atoms

pytestmark = pytest.mark.usefixtures("float32_densities")

ELEMENTS = np.array([1, 6, 7, 8, 9])
PAIR_FIELDS = ("density", "potentials", "positions", "radial", "harmonics")


def _transform(X, matrix, shift):
    out = np.array(X, dtype=np.float64)
    real = out[:, :, 0] > 0
    out[:, :, 1:][real] = out[:, :, 1:][real] @ matrix.T + shift
    return out


def _batch(X, cloud_order=3, n_radial=5):
    """The features of molecules X as one float64 batch (with its pairs)."""
    dataset = featurize(
        np.asarray(X),
        None,
        elements=ELEMENTS,
        radius=3.0,
        cloud_order=cloud_order,
        n_radial=n_radial,
        pair_degrees=cloud_order,
    )
    batch, _ = dataset.batch(np.arange(len(X)))
    for name in PAIR_FIELDS:
        setattr(batch, name, getattr(batch, name).double())
    return batch


#: A small network's arguments, without ``n_interactions``.
NETWORK = dict(
    n_species=5,
    n_outputs=1,
    n_radial=5,
    cloud_order=3,
    embedding_dim=6,
    cloud_channels=4,
    n_clouds=1,
    atom_dim=10,
    hidden_sizes=(9, 7),
    potentials=True,
)


def _randomise_updates(layers):
    """Random last update layers: they start at zero (an untrained layer changes
    nothing), which would leave the update's paths untested."""
    with torch.no_grad():
        for layer in layers:
            layer.update[-1].weight.normal_(std=0.3)
            layer.update[-1].bias.normal_(std=0.3)
    return layers


def _module(**kw):
    module = ACNModule(**{**NETWORK, "n_interactions": 2, **kw}).double()
    _randomise_updates(module.interactions.layers)
    return module


def _scalars_and_vectors(module, batch):
    """The interaction layers' input and output ``(s, v)`` of a network."""
    seen = []
    handle = module.interactions.register_forward_hook(
        lambda mod, args, out: seen.append((args, out))
    )
    try:
        module(batch)
    finally:
        handle.remove()
    ((s, v, _), out) = seen[0]
    return (s, v), out


def _rotation(seed, mirror):
    matrix = special_ortho_group.rvs(3, random_state=seed)
    return matrix @ np.diag([1.0, 1.0, -1.0]) if mirror else matrix


# -- each contraction against a direct loop -------------------------------------------


def test_message_equals_a_loop_over_pairs(qm9_subset):
    torch.manual_seed(0)
    batch = _batch(qm9_subset[0][:3])
    layer = Interaction(atom_dim=7, channels=3).double()
    n, c = len(batch.species), 3
    s, v = torch.randn(n, 7, dtype=torch.float64), torch.randn(n, 3, c, dtype=torch.float64)
    filters = torch.randn(len(batch.centre), 3 * c, dtype=torch.float64)
    directions = pair_directions(batch.harmonics)
    m, dv = layer.message(s, v, filters, directions, batch)

    x = layer.context(s)
    m_loop, dv_loop = (
        torch.zeros(n, c, dtype=torch.float64),
        torch.zeros(n, 3, c, dtype=torch.float64),
    )
    for p, (i, j) in enumerate(zip(batch.centre.tolist(), batch.neighbour.tolist(), strict=True)):
        w = filters[p]
        m_loop[i] += w[:c] * x[j, :c]
        for a in range(3):
            for k in range(c):
                dv_loop[i, a, k] += (
                    w[c + k] * x[j, c + k] * directions[p, a]
                    + w[2 * c + k] * x[j, 2 * c + k] * v[j, a, k]
                )
    torch.testing.assert_close(m, m_loop, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(dv, dv_loop, rtol=1e-12, atol=1e-12)


def test_update_equals_a_loop_over_atoms():
    torch.manual_seed(1)
    layer = Interaction(atom_dim=5, channels=3).double()
    _randomise_updates([layer])
    n, c = 4, 3
    s, m = torch.randn(n, 5, dtype=torch.float64), torch.randn(n, c, dtype=torch.float64)
    v = torch.randn(n, 3, c, dtype=torch.float64)
    ds, dv = layer.mix(s, m, v)

    weight = layer.vector_mix.weight  # (2c, c): u = W[:c] v, w = W[c:] v per component
    for i in range(n):
        u = torch.stack([weight[:c] @ v[i, a] for a in range(3)])  # (3, c)
        w = torch.stack([weight[c:] @ v[i, a] for a in range(3)])
        norm = torch.stack([torch.sqrt((w[:, k] ** 2).sum() + 1e-8) for k in range(c)])
        dot = torch.stack([(u[:, k] * w[:, k]).sum() for k in range(c)])
        out = layer.update(torch.cat([s[i], m[i], norm, dot]))
        torch.testing.assert_close(ds[i], out[:5], rtol=1e-12, atol=1e-12)
        for a in range(3):
            torch.testing.assert_close(dv[i, a], out[5:] * u[a], rtol=1e-12, atol=1e-12)


def test_one_filter_product_serves_every_layer(qm9_subset):
    """The fused filter product hands each layer the columns of its own filter."""
    torch.manual_seed(2)
    batch = _batch(qm9_subset[0][:2])
    block = Interactions(3, atom_dim=6, vector_dim=2, n_radial=5).double()
    _randomise_updates(block.layers)
    n = len(batch.species)
    s, v = torch.randn(n, 6, dtype=torch.float64), torch.randn(n, 3, 2, dtype=torch.float64)
    out = block(s, v, batch)
    weight = block.filters.weight.view(3, 6, 5)
    directions = pair_directions(batch.harmonics)
    for layer, w in zip(block.layers, weight, strict=True):
        s, v = layer(s, v, batch.radial @ w.T, directions, batch)
    torch.testing.assert_close(out, (s, v), rtol=1e-12, atol=1e-12)


def test_an_untrained_layer_changes_no_scalar(qm9_subset):
    torch.manual_seed(9)
    batch = _batch(qm9_subset[0][:2])
    block = Interactions(2, atom_dim=6, vector_dim=2, n_radial=5).double()
    s = torch.randn(len(batch.species), 6, dtype=torch.float64)
    v = torch.randn(len(batch.species), 3, 2, dtype=torch.float64)
    assert torch.equal(block(s, v, batch)[0], s)


def test_filters_vanish_at_the_cutoff():
    block = Interactions(1, atom_dim=4, vector_dim=2, n_radial=6).double()
    r = torch.tensor([2.999999, 3.0, 3.5], dtype=torch.float64)
    filters = block.filters(radial_basis(r, 3.0, 6))
    assert filters.abs().max() < 1e-20


# -- symmetry --------------------------------------------------------------------------


@pytest.mark.parametrize("mirror", [False, True])
def test_vectors_rotate_with_the_molecule(qm9_subset, mirror):
    """Rotate (or mirror) the input and every vector feature rotates by the same
    matrix, in e3nn's order of degree-1 components; scalars do not change."""
    torch.manual_seed(3)
    X = qm9_subset[0][:4]
    module = _module()
    matrix = _rotation(4, mirror)
    (s0, v0), (s, v) = _scalars_and_vectors(module, _batch(X))
    (s0r, v0r), (sr, vr) = _scalars_and_vectors(module, _batch(_transform(X, matrix, 5.0)))
    D = o3.Irrep("1o").D_from_matrix(torch.as_tensor(matrix))
    assert v.abs().max() > 1e-2, "the vectors must be non-zero for this test to bite"
    for before, after in ((v0, v0r), (v, vr)):
        torch.testing.assert_close(after, torch.einsum("ab,nbc->nac", D, before), atol=1e-5, rtol=0)
    for before, after in ((s0, s0r), (s, sr)):
        torch.testing.assert_close(after, before, atol=1e-5, rtol=0)


def test_predictions_are_invariant_and_atoms_may_be_permuted(qm9_subset):
    torch.manual_seed(5)
    X = np.array(qm9_subset[0][:6])
    module = _module()
    reference = module(_batch(X))
    for seed, mirror in ((0, False), (1, True)):
        moved = _transform(X, _rotation(seed, mirror), np.array([4.0, -7.0, 2.0]))
        torch.testing.assert_close(module(_batch(moved)), reference, atol=1e-6, rtol=0)
    rng = np.random.default_rng(6)
    shuffled = X.copy()
    for i, n in enumerate(n_atoms(X)):
        shuffled[i, :n] = X[i, rng.permutation(n)]
    torch.testing.assert_close(module(_batch(shuffled)), reference, atol=1e-6, rtol=0)


def test_molecules_do_not_interact_within_a_batch(qm9_subset):
    torch.manual_seed(7)
    module = _module()
    X = qm9_subset[0][:5]
    torch.testing.assert_close(module(_batch(X))[:1], module(_batch(X[:1])), atol=1e-9, rtol=0)


# -- without interactions, the network of before ----------------------------------------


def test_no_interactions_is_the_network_without_them(qm9_subset):
    """``n_interactions=0`` builds no layer, draws no random number and computes
    what a network built without the argument computes."""
    batch = _batch(qm9_subset[0][:4])
    torch.manual_seed(8)
    before = ACNModule(**NETWORK)
    torch.manual_seed(8)
    after = ACNModule(**NETWORK, n_interactions=0)
    assert after.interactions is None
    assert before.state_dict().keys() == after.state_dict().keys()
    assert not any(key.startswith("interactions") for key in after.state_dict())
    for key, value in before.state_dict().items():
        assert torch.equal(value, after.state_dict()[key])
    for name in PAIR_FIELDS:
        setattr(batch, name, getattr(batch, name).float())
    assert torch.equal(before(batch), after(batch))


def test_regressor_without_interactions_predicts_as_the_default(qm9_subset, tiny):
    X, y = qm9_subset
    default = ACNRegressor(max_epochs=2, random_state=0, **tiny).fit(X[:60], y[:60])
    explicit = ACNRegressor(max_epochs=2, random_state=0, n_interactions=0, **tiny)
    explicit.fit(X[:60], y[:60])
    assert np.array_equal(default.predict(X[60:80]), explicit.predict(X[60:80]))
    # Without interactions the dataset keeps no pairs.
    assert len(default._featurize(X[:3]).arrays["centre"]) == 0


def test_neighbour_sums_are_divided_by_the_training_mean(qm9_subset, tiny):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=1, random_state=0, n_interactions=1, **tiny)
    model.fit(X[:60], y[:60])
    arrays = model._featurize(X[:60]).arrays
    expected = len(arrays["centre"]) / len(arrays["species"])
    assert 5 < expected < 15  # QM9 within 3 Angstrom
    assert float(model.statistics_.mean_neighbours) == pytest.approx(expected, rel=1e-6)
    assert float(model.module_.interactions.mean_neighbours) == pytest.approx(expected, rel=1e-6)
    # Without interactions no pairs are kept, and the statistic is 1.
    plain = ACNRegressor(max_epochs=1, random_state=0, **tiny).fit(X[:60], y[:60])
    assert float(plain.statistics_.mean_neighbours) == 1.0


def test_atom_regressor_takes_interactions(qm9_subset, tiny):
    """The per-atom estimator shares the parameter: its atoms' values stay invariant."""
    from acn_sklearn import ACNAtomRegressor

    X = np.array(qm9_subset[0][:80])
    real = X[:, :, 0] > 0
    q = np.where(real, 0.05 * X[:, :, 0], 0.0)
    q = np.where(real, q - q.sum(1, keepdims=True) / real.sum(1, keepdims=True), 0.0)
    model = ACNAtomRegressor(max_epochs=1, random_state=0, n_interactions=1, **tiny)
    model.fit(X[:60], q[:60])
    assert model.module_.interactions is not None
    reference = model.predict(X[60:])
    moved = model.predict(_transform(X[60:], _rotation(2, True), np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(moved, reference, atol=1e-5)
    np.testing.assert_allclose(reference.sum(axis=1), 0.0, atol=1e-5)


def test_interactions_keep_only_the_pair_directions_they_read(qm9_subset, tiny, monkeypatch):
    """With one cloud, the pairs keep the harmonics of degrees 0 and 1 (4 columns, not
    ``cloud_order**2``), and the fit is the one that keeps them all, bit for bit."""
    import acn_sklearn.acn._base as base

    X, y = qm9_subset
    params = dict(max_epochs=2, random_state=0, n_interactions=1, cloud_order=4, **tiny)
    lean = ACNRegressor(**params).fit(X[:60], y[:60])
    assert lean._featurize(X[:3]).arrays["harmonics"].shape[1] == 4
    featurize = base.featurize
    monkeypatch.setattr(base, "featurize", lambda *a, **k: featurize(*a, **k | {"pair_degrees": 4}))
    full = ACNRegressor(**params).fit(X[:60], y[:60])
    assert full._featurize(X[:3]).arrays["harmonics"].shape[1] == 16
    assert np.array_equal(lean.predict(X[60:80]), full.predict(X[60:80]))
    # a second cloud reads every degree
    two_clouds = ACNRegressor(**(params | {"n_interactions": 0, "n_clouds": 2}))
    assert two_clouds.fit(X[:60], y[:60])._featurize(X[:3]).arrays["harmonics"].shape[1] == 16
