"""ACNAtomRegressor: one value per atom, padding ignored, charges summing to the total."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_validate

from acn_sklearn import ACNAtomRegressor
from acn_sklearn.scoring import mae_scorer, mean_absolute_error

TINY = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, batch_size=50
)
#: Electronegativity-like charge per element, for a synthetic per-atom target.
CHARGE = {1: 0.15, 6: -0.1, 7: -0.35, 8: -0.45, 9: -0.3}


def charges_of(X):
    """Neutral synthetic charges: an element term plus one that depends on the neighbours,
    shifted per molecule to sum to zero; zero at padding."""
    Z = X[:, :, 0]
    real = Z > 0
    q = np.vectorize(lambda z: CHARGE.get(int(z), 0.0))(Z)
    d = np.linalg.norm(X[:, :, None, 1:] - X[:, None, :, 1:], axis=-1)
    neighbours = ((d < 1.6) & real[:, :, None] & real[:, None, :]).sum(axis=2) - 1
    q = np.where(real, q + 0.02 * neighbours, 0.0)
    return np.where(real, q - q.sum(1, keepdims=True) / real.sum(1, keepdims=True), 0.0)


@pytest.fixture(scope="module")
def data(qm9_subset):
    X = np.array(qm9_subset[0])
    return X, charges_of(X)


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    return ACNAtomRegressor(max_epochs=4, random_state=0, **TINY).fit(X[:200], y[:200])


def test_predicts_one_value_per_atom_zero_at_padding_summing_to_zero(fitted, data):
    X, _ = data
    y = fitted.predict(X[200:])
    real = X[200:, :, 0] > 0
    assert y.shape == X[200:].shape[:2]
    assert np.all(y[~real] == 0) and np.all(y[real] != 0)
    np.testing.assert_allclose(y.sum(axis=1), 0.0, atol=1e-6)


@pytest.mark.parametrize("total", [None, 1.0])
def test_total_charge_sets_or_frees_the_sum(data, total):
    X, y = data
    model = ACNAtomRegressor(total_charge=total, max_epochs=1, random_state=0, **TINY)
    sums = model.fit(X[:100], y[:100]).predict(X[300:]).sum(axis=1)
    if total is None:
        assert np.abs(sums).max() > 1e-3
    else:
        np.testing.assert_allclose(sums, total, atol=1e-5)


def test_baseline_is_each_elements_mean_training_value(fitted, data):
    X, y = data
    Z = X[:200, :, 0]
    expected = [y[:200][Z == z].mean() for z in fitted.elements_]
    baseline = fitted.statistics_.element_baseline.numpy()[:, 0]
    np.testing.assert_allclose(baseline, expected, rtol=1e-6, atol=1e-7)


def test_learns_more_than_the_element_means(data):
    X, y = data
    model = ACNAtomRegressor(max_epochs=30, random_state=0, **TINY).fit(X[:300], y[:300])
    baseline = model.statistics_.element_baseline.numpy()[:, 0]
    species = np.searchsorted(model.elements_, X[300:, :, 0].astype(int))
    by_element = np.where(X[300:, :, 0] > 0, baseline[species], 0.0)
    mae = mean_absolute_error(y[300:], model.predict(X[300:]), X=X[300:])
    assert mae < 0.7 * mean_absolute_error(y[300:], by_element, X=X[300:])


def test_padding_and_atom_order_change_nothing(fitted, data):
    X, _ = data
    X = X[300:330]
    y = fitted.predict(X)
    padded = np.zeros((len(X), 35, 4))
    padded[:, :29] = X
    np.testing.assert_array_equal(fitted.predict(padded)[:, :29], y)
    rng = np.random.default_rng(0)
    permuted, order = X.copy(), []
    for m, molecule in enumerate(X):
        n = int((molecule[:, 0] > 0).sum())
        order.append(rng.permutation(n))
        permuted[m, :n] = molecule[order[-1]]
    y_permuted = fitted.predict(permuted)
    for m, o in enumerate(order):
        np.testing.assert_allclose(y_permuted[m, : len(o)], y[m, o], rtol=1e-5, atol=1e-6)


def test_padding_entries_are_not_fitted(data):
    # The same molecules as a wider array with zero padding: the same network.
    X, y = data
    wide_X = np.zeros((200, 33, 4))
    wide_X[:, :29] = X[:200]
    wide_y = np.zeros((200, 33))
    wide_y[:, :29] = y[:200]
    fit = dict(max_epochs=2, random_state=0, **TINY)
    a = ACNAtomRegressor(**fit).fit(X[:200], y[:200]).predict(X[300:])
    b = ACNAtomRegressor(**fit).fit(wide_X, wide_y).predict(X[300:])
    np.testing.assert_array_equal(a, b)


def test_score_is_r2_over_real_atoms_and_the_scorer_mae(fitted, data):
    X, y = data
    real = X[200:, :, 0] > 0
    prediction = fitted.predict(X[200:])
    assert fitted.score(X[200:], y[200:]) == pytest.approx(
        r2_score(y[200:][real], prediction[real])
    )
    mae = np.abs(prediction - y[200:])[real].mean()
    assert mae_scorer(atomic=True)(fitted, X[200:], y[200:]) == pytest.approx(-mae)
    assert mae > np.abs(prediction - y[200:]).mean()  # padding would dilute it


def test_cross_validate_with_the_atom_scorer(data):
    X, y = data
    model = ACNAtomRegressor(max_epochs=1, random_state=0, **TINY)
    scores = cross_validate(model, X[:120], y[:120], cv=2, scoring=mae_scorer(atomic=True))
    assert np.all(scores["test_score"] < 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("shape", r"must have shape \(n_molecules, max_atoms\) = \(50, 29\)"),
        ("padding", r"molecule 3, atom 28: y has a value at padding \(for an atom"),
        ("nan", "molecule 2, atom 0: y is NaN or infinite"),
    ],
)
def test_bad_atomic_targets_are_explained(data, change, message):
    X, y = data
    y = y[:50].copy()
    if change == "shape":
        y = y[:, :20]
    elif change == "padding":
        y[3, 28] = 0.1
    else:
        y[2, 0] = np.nan
    with pytest.raises(ValueError, match=message):
        ACNAtomRegressor(max_epochs=1, **TINY).fit(X[:50], y)


def test_molecular_parameters_are_refused_and_clone_keeps_the_rest(data):
    X, y = data
    with pytest.raises(ValueError, match="unexpected argument.*pooling"):
        ACNAtomRegressor(pooling="power", max_epochs=1, **TINY).fit(X[:20], y[:20])
    model = ACNAtomRegressor(total_charge=None, radius=4.0)
    with pytest.raises(ValueError, match="Invalid parameter 'head'"):
        model.set_params(head="dipole")
    copy = clone(model)
    assert copy.total_charge is None and copy.radius == 4.0
    assert "pooling" not in copy.get_params() and "target" not in copy.get_params()


def test_atom_std_is_calibrated_on_the_validation_atoms_and_built_on_training_atoms(fitted, data):
    """Per-atom std: unit root-mean-square z-scores over the real atoms of the validation
    molecules (the calibration), and a last-layer precision that is that of the training
    molecules' atoms only (the leverage identity of test_acn_regressor)."""
    from test_acn_regressor import _leverage_identity

    X, y = data
    valid = fitted.validation_indices_
    train = np.setdiff1d(np.arange(200), valid)
    mean, std = fitted.predict(X[valid], return_std=True)
    real = X[valid, :, 0] > 0
    z = (y[valid] - mean)[real] / std[real]
    np.testing.assert_allclose(np.sqrt(np.mean(z**2)), 1.0, rtol=1e-5)
    assert not std[~real].any()

    class Rows:  # the model's predictions of the real atoms, one row each
        last_layer_ = fitted.last_layer_

        def predict(self, molecules, return_std):
            mean, std = fitted.predict(molecules, return_std=return_std)
            real = molecules[:, :, 0] > 0
            return mean[real], std[real]

    np.testing.assert_allclose(_leverage_identity(Rows(), X, train), 0.0, atol=1e-6)
    assert np.all(_leverage_identity(Rows(), X, np.arange(200)) < -1e-3)


def test_the_two_charges_of_a_neutral_diatomic_have_one_std(fitted):
    """With total_charge=0 a diatomic's charges are q and -q, so their std must be equal: the
    posterior's per-atom features are centred on the molecule (uncentred, C and O of carbon
    monoxide would get different error bars for one uncertain number)."""
    import warnings

    from acn_sklearn.domain import DomainWarning

    co = np.zeros((1, 29, 4))
    co[0, 0], co[0, 1] = [6, 0.0, 0.0, 0.0], [8, 1.128, 0.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        mean, std = fitted.predict(co, return_std=True)
    np.testing.assert_allclose(mean[0, 0], -mean[0, 1], rtol=1e-5)
    assert std[0, 0] > 0
    np.testing.assert_allclose(std[0, 0], std[0, 1], rtol=1e-5)


def test_a_molecule_is_as_uncertain_as_its_most_uncertain_atom(fitted, data):
    """The domain's std limit is per atom (2 x the 99th percentile of the validation atoms'
    std): a molecule is flagged when one atom's std passes it, so the molecules it trained on
    are not flagged (a sum over atoms would flag nearly all of them)."""
    import warnings

    from acn_sklearn.domain import STD_LIMIT_FACTOR, DomainWarning

    X, _ = data
    valid = fitted.validation_indices_
    _, std = fitted.predict(X[valid], return_std=True)
    real = X[valid, :, 0] > 0
    limit = fitted.training_domain_.std_limit[0]
    np.testing.assert_allclose(limit, STD_LIMIT_FACTOR * np.percentile(std[real], 99), rtol=1e-6)
    _, std = fitted.predict(X[:200], return_std=True)
    flagged = np.flatnonzero(std.max(axis=1) > limit)
    assert len(flagged) < 10 < np.count_nonzero(std.sum(axis=1) > limit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted.predict(X[:200], return_std=True)
    uncertain = [w for w in caught if issubclass(w.category, DomainWarning)]
    uncertain = [str(w.message) for w in uncertain if "uncertainty" in str(w.message)]
    assert len(uncertain) == (1 if len(flagged) else 0)
    if len(flagged):
        assert f"{len(flagged)} molecule(s) outside" in uncertain[0]
