"""DeepEnsembleRegressor: seeded members averaged, usable wherever a sklearn regressor is."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import cross_val_score

from acn_sklearn import ACNRegressor, DeepEnsembleRegressor, make_cm_krr

TINY = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, batch_size=50
)


@pytest.fixture(scope="module")
def ensemble(qm9_subset):
    X, y = qm9_subset
    model = DeepEnsembleRegressor(ACNRegressor(max_epochs=3, **TINY), n_members=3, random_state=7)
    return model.fit(X[:150], y[:150])


def test_members_are_seeded_copies_and_the_prediction_is_their_mean(ensemble, qm9_subset):
    X, _ = qm9_subset
    assert [m.random_state for m in ensemble.estimators_] == [7, 8, 9]
    assert ensemble.estimator.random_state is None  # the template is not touched
    each = np.stack([m.predict(X[150:170]) for m in ensemble.estimators_])
    assert np.ptp(each, axis=0).min() > 0  # different seeds, different networks
    mean, std = ensemble.predict(X[150:170], return_std=True)
    np.testing.assert_allclose(mean, each.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, each.std(axis=0) * ensemble.std_scale_, rtol=1e-12)
    np.testing.assert_allclose(ensemble.predict(X[150:170]), mean, rtol=1e-12)


def test_member_equals_a_network_fitted_alone_with_its_seed(ensemble, qm9_subset):
    X, y = qm9_subset
    alone = ACNRegressor(max_epochs=3, random_state=8, **TINY).fit(X[:150], y[:150])
    np.testing.assert_allclose(
        ensemble.estimators_[1].predict(X[150:160]), alone.predict(X[150:160]), rtol=1e-5
    )


@pytest.mark.slow
def test_parallel_fit_gives_the_same_members(ensemble, qm9_subset):
    X, y = qm9_subset
    parallel = clone(ensemble).set_params(n_jobs=2).fit(X[:150], y[:150])
    np.testing.assert_allclose(
        parallel.predict(X[150:160]), ensemble.predict(X[150:160]), rtol=1e-5
    )


def test_sklearn_behaviour(ensemble, qm9_subset):
    X, y = qm9_subset
    params = ensemble.get_params()
    assert params["n_members"] == 3 and params["estimator__radius"] == 3.0
    restored = pickle.loads(pickle.dumps(ensemble))
    np.testing.assert_array_equal(restored.predict(X[150:160]), ensemble.predict(X[150:160]))
    small = DeepEnsembleRegressor(ACNRegressor(max_epochs=2, **TINY), n_members=2, random_state=0)
    scores = cross_val_score(small, X[:120], y[:120], cv=2, scoring="neg_mean_absolute_error")
    assert scores.shape == (2,) and np.isfinite(scores).all()


def test_multi_output(qm9_subset):
    X, y = qm9_subset
    Y = np.column_stack([y, 0.01 * y + 3.0])
    model = DeepEnsembleRegressor(ACNRegressor(max_epochs=2, **TINY), n_members=2, random_state=0)
    mean, std = model.fit(X[:100], Y[:100]).predict(X[100:110], return_std=True)
    assert mean.shape == std.shape == (10, 2)


def test_bad_parameters(qm9_subset):
    X, y = qm9_subset
    with pytest.raises(ValueError, match=r"'n_members' parameter .* in the range \[1, inf\)"):
        DeepEnsembleRegressor(ACNRegressor(), n_members=0).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="Pipeline has no random_state parameter"):
        DeepEnsembleRegressor(make_cm_krr()).fit(X[:10], y[:10])


def test_member_params_give_each_member_its_own_setting(qm9_subset):
    X, y = qm9_subset
    template = ACNRegressor(max_epochs=2, **TINY)
    model = DeepEnsembleRegressor(
        template, n_members=2, member_params={"radius": [2.5, 3.5]}, random_state=0
    ).fit(X[:80], y[:80])
    assert [(m.radius, m.random_state) for m in model.estimators_] == [(2.5, 0), (3.5, 1)]
    assert template.radius == 3.0  # the template is not touched
    alone = ACNRegressor(max_epochs=2, radius=3.5, random_state=1, **TINY).fit(X[:80], y[:80])
    np.testing.assert_allclose(
        model.estimators_[1].predict(X[80:90]), alone.predict(X[80:90]), rtol=1e-5
    )


@pytest.mark.parametrize(
    "member_params, message",
    [
        ({"radius": [3, 4]}, r"member_params\['radius'\] has 2 values for 3 members"),
        ({"radius": 3}, r"member_params\['radius'\] must be a list, got 3"),
        ({"radius": "345"}, r"must be a list, got '345'"),
        ({"random_state": [1, 2, 3]}, "cannot set random_state"),
        ({"radius": [3, 4, 5], "cutoff": [3, 4, 5]}, r"names \['cutoff'\], which ACNRegressor"),
    ],
)
def test_bad_member_params(qm9_subset, member_params, message):
    X, y = qm9_subset
    model = DeepEnsembleRegressor(ACNRegressor(), n_members=3, member_params=member_params)
    with pytest.raises(ValueError, match=message):
        model.fit(X[:10], y[:10])
