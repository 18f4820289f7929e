"""predict(X, return_std=True): posterior standard deviations, their calibration, and the
uncertainty reason of the applicability domain."""

import warnings

import numpy as np
import pytest
from ase import Atoms
from scipy.special import erf
from test_domain import alkane

from acn_sklearn import ACNRegressor, CoulombMatrix, DeepEnsembleRegressor, KernelRidgeRegressor
from acn_sklearn.domain import STD_LIMIT_FACTOR, DomainWarning, TrainingDomain
from acn_sklearn.kernel_ridge import NystroemKernelRidge
from acn_sklearn.registry import CATALOGUE, make_model
from acn_sklearn.uncertainty import calibration_curve, std_scale

TINY = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, batch_size=50
)


def _domain_messages(predict):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predict()
    return [str(w.message) for w in caught if issubclass(w.category, DomainWarning)]


@pytest.fixture(scope="module")
def cm_vectors(qm9_subset):
    X, y = qm9_subset
    return CoulombMatrix(size=29).fit(X[:60]).transform(X[:80]), y[:80]


def _dense_posterior_std(model, X_train, X_test):
    """sqrt(k(x, x) - k_x^T (K + alpha I)^-1 k_x) by a dense solve."""
    K = model._kernel(X_train, X_train)
    k = model._kernel(X_test, X_train)
    self_k = np.array([model._kernel(x[None], x[None])[0, 0] for x in X_test])
    G = K + model.alpha_ * np.eye(len(K))
    return np.sqrt(self_k - np.einsum("ij,ji->i", k, np.linalg.solve(G, k.T)))


@pytest.mark.parametrize(("kernel", "sigma"), [("gaussian", 300.0), ("laplacian", 2000.0)])
def test_kernel_std_is_the_gaussian_process_posterior_std(cm_vectors, kernel, sigma):
    R, y = cm_vectors
    model = KernelRidgeRegressor(kernel=kernel, sigma=sigma, alpha=1e-4).fit(R[:60], y[:60])
    mean, std = model.predict(R[60:], return_std=True)
    np.testing.assert_allclose(mean, model.predict(R[60:]))
    expected = _dense_posterior_std(model, R[:60], R[60:]) * model.std_scale_
    np.testing.assert_allclose(std, expected, rtol=1e-7)


def test_local_kernel_std_is_the_gaussian_process_posterior_std(qm9_subset):
    from acn_sklearn import FCHL19

    X, y = qm9_subset
    F = FCHL19(rcut=4.5, acut=4.5, elements=(1, 6, 7, 8, 9)).fit(X[:40]).transform(X[:50])
    model = KernelRidgeRegressor(kernel="local_gaussian", sigma=2.0, alpha=1e-3)
    model.fit(F[:40], y[:40])
    _, std = model.predict(F[40:], return_std=True)
    expected = _dense_posterior_std(model, F[:40], F[40:]) * model.std_scale_
    np.testing.assert_allclose(std, expected, rtol=1e-6)


def test_std_vanishes_at_training_points_and_grows_away_from_them():
    X = np.linspace(0.0, 1.0, 15)[:, None]
    model = KernelRidgeRegressor(sigma=0.2, alpha=1e-10).fit(X, np.sin(6 * X[:, 0]))
    _, at_data = model.predict(X, return_std=True)
    assert at_data.max() < 1e-3 * model.std_scale_
    away = np.array([[1.05], [1.2], [1.5], [3.0]])
    _, std = model.predict(away, return_std=True)
    assert np.all(np.diff(std) > 0) and std[0] > 10 * at_data.max()
    np.testing.assert_allclose(std[-1], model.std_scale_, rtol=1e-6)  # the prior's std


def test_scale_gives_brute_force_leave_one_out_residuals_unit_rms(cm_vectors):
    R, y = cm_vectors
    R, y = R[:40], y[:40]
    model = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0, alpha=1e-6, baseline=None)
    model.fit(R, y)
    z, raw = [], []
    for i in range(len(R)):
        rest = np.arange(len(R)) != i
        alone = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0, alpha=1e-6, baseline=None)
        mean, std = alone.fit(R[rest], y[rest]).predict(R[i : i + 1], return_std=True)
        raw.append(std[0] / alone.std_scale_)
        z.append((y[i] - mean[0]) / raw[-1])
    scale = np.sqrt(np.mean(np.square(z)))
    np.testing.assert_allclose(model.std_scale_, scale, rtol=1e-6)
    np.testing.assert_allclose(model.loo_std_, scale * np.array(raw), rtol=1e-6)


def test_multi_output_has_a_std_per_output(cm_vectors):
    R, y = cm_vectors
    Y = np.column_stack([y, 3 * y + np.arange(len(y)) ** 1.5])
    model = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0, alpha=1e-6).fit(R[:60], Y[:60])
    _, std = model.predict(R[60:], return_std=True)
    assert std.shape == (20, 2) and model.std_scale_.shape == (2,)
    for j in range(2):
        alone = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0, alpha=1e-6)
        _, expected = alone.fit(R[:60], Y[:60, j]).predict(R[60:], return_std=True)
        np.testing.assert_allclose(std[:, j], expected, rtol=1e-9)


def test_std_needs_the_cholesky_factor(cm_vectors):
    R, y = cm_vectors
    model = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0).fit(R[:60], y[:60])
    del model.L_inv_
    assert model.predict(R[60:]).shape == (20,)
    with pytest.raises(ValueError, match="saved without its inverse Cholesky factor L_inv_"):
        model.predict(R[60:], return_std=True)


def test_nystroem_on_every_training_molecule_is_exact_krr(qm9_subset):
    X, y = qm9_subset
    R = CoulombMatrix(size=29).fit(X[:60]).transform(X[:80])
    exact = KernelRidgeRegressor(kernel="laplacian", sigma=400.0, alpha=1e-6).fit(R[:60], y[:60])
    nystroem = NystroemKernelRidge(
        CoulombMatrix(size=29), kernel="laplacian", sigma=400.0, alpha=1e-6, n_landmarks=60
    ).fit(X[:60], y[:60])
    _, expected = exact.predict(R[60:], return_std=True)
    _, std = nystroem.predict(X[60:80], return_std=True)
    np.testing.assert_allclose(nystroem.std_scale_, exact.std_scale_, rtol=1e-6)
    np.testing.assert_allclose(std, expected, rtol=1e-5)


def test_nystroem_std_grows_beyond_its_landmarks(qm9_subset):
    X, y = qm9_subset
    model = NystroemKernelRidge(
        CoulombMatrix(size=29), kernel="laplacian", sigma=400.0, n_landmarks=20, random_state=0
    ).fit(X[:100], y[:100])
    _, std = model.predict(X[:100], return_std=True)
    landmarks = np.zeros(100, dtype=bool)
    landmarks[model.landmark_indices_] = True
    assert std[landmarks].max() < std[~landmarks].mean()


def _catalogue_model(name):
    if CATALOGUE[name].kind == "network":
        return make_model(name, max_epochs=2, random_state=0, **TINY)
    fast = {"krr__n_landmarks": 30} if name.endswith("nystroem") else {}
    return make_model(name, **fast)


MOLECULAR = [name for name, entry in CATALOGUE.items() if entry.targets == "molecular"]
ATOMIC = [name for name, entry in CATALOGUE.items() if entry.targets == "atomic"]


@pytest.mark.parametrize("name", MOLECULAR)
@pytest.mark.parametrize("n_targets", [1, 2])
def test_every_catalogue_model_returns_a_std_per_prediction(qm9_subset, name, n_targets):
    X, y = qm9_subset
    Y = y[:70] if n_targets == 1 else np.column_stack([y[:70], 0.5 * y[:70]])
    model = _catalogue_model(name)
    exact = CATALOGUE[name].kind == "exact"  # computed, not fitted: no uncertainty
    if exact:  # the rotational constants: as many as y has columns
        model.set_params(target="A" if n_targets == 1 else ["A", "B"])
    model.fit(X[:60], Y[:60])
    mean, std = model.predict(X[60:70], return_std=True)
    assert mean.shape == std.shape == Y[60:].shape
    np.testing.assert_allclose(mean, model.predict(X[60:70]), rtol=1e-6)
    assert np.all(np.isfinite(std)) and np.all(std == 0 if exact else std > 0)


@pytest.mark.parametrize("name", ATOMIC)
def test_every_atomic_catalogue_model_returns_a_std_per_atom(qm9_subset, name):
    X, _ = qm9_subset
    real = X[:70, :, 0] > 0
    charges = np.where(X[:70, :, 0] == 1, 0.1, -0.3) * real
    charges -= real * (charges.sum(axis=1) / real.sum(axis=1))[:, None]
    model = _catalogue_model(name).fit(X[:60], charges[:60])
    mean, std = model.predict(X[60:70], return_std=True)
    assert mean.shape == std.shape == (10, X.shape[1])
    np.testing.assert_allclose(mean, model.predict(X[60:70]), rtol=1e-6, atol=1e-9)
    assert np.all(std[real[60:]] > 0) and np.all(np.isfinite(std))
    assert np.all(std[~real[60:]] == 0)


def test_network_scale_gives_its_validation_molecules_unit_rms(qm9_subset):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=3, random_state=0, **TINY).fit(X[:150], y[:150])
    valid = model.validation_indices_
    assert len(valid) == 15
    mean, std = model.predict(X[valid], return_std=True)
    np.testing.assert_allclose(np.sqrt(np.mean(((y[valid] - mean) / std) ** 2)), 1.0, rtol=1e-4)


def test_network_without_validation_split_has_no_std(qm9_subset):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=1, **TINY).fit(X[:50], y[:50])
    model.set_params(validation_fraction=0).fit(X[:50], y[:50])  # a refit drops the old one
    with pytest.raises(ValueError, match="validation_fraction=0"):
        model.predict(X[50:55], return_std=True)


def test_ensemble_std_is_the_spread_calibrated_on_held_out_members(qm9_subset):
    X, y = qm9_subset
    ensemble = DeepEnsembleRegressor(
        ACNRegressor(max_epochs=3, **TINY), n_members=3, random_state=7
    ).fit(X[:150], y[:150])
    each = np.stack([m.predict(X[150:170]) for m in ensemble.estimators_])
    mean, std = ensemble.predict(X[150:170], return_std=True)
    np.testing.assert_allclose(mean, each.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, each.std(axis=0) * ensemble.std_scale_, rtol=1e-12)
    z = []
    for k, member in enumerate(ensemble.estimators_):
        held_out = member.validation_indices_
        spread = np.stack([m.predict(X[held_out]) for m in ensemble.estimators_]).std(axis=0)
        z.append((y[held_out] - member.predict(X[held_out])) / spread)
        assert k == 0 or not np.array_equal(held_out, ensemble.estimators_[0].validation_indices_)
    np.testing.assert_allclose(ensemble.std_scale_, np.sqrt(np.mean(np.concatenate(z) ** 2)))


def test_ensemble_of_one_member_has_no_std(qm9_subset):
    X, y = qm9_subset
    one = DeepEnsembleRegressor(ACNRegressor(max_epochs=1, **TINY), n_members=1).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="two or more members"):
        one.predict(X[50:55], return_std=True)


def test_uncertainty_reason_names_far_out_molecules_not_training_ones(qm9_subset):
    X, y = qm9_subset
    model = make_model("cm", cm__size=62, krr__sigma=1e4).fit(X[:100], y[:100])
    limit = model.training_domain_.std_limit[0]
    expected = STD_LIMIT_FACTOR * np.percentile(model[-1].loo_std_, 99)
    np.testing.assert_allclose(limit, expected)
    assert _domain_messages(lambda: model.predict(X[:100], return_std=True)) == []
    # 41- and 53-atom alkanes, and a QM9 molecule it did not train on
    Z, R = X[150, :, 0], X[150, :, 1:]
    molecules = [alkane(13), Atoms(numbers=Z[Z > 0], positions=R[Z > 0]), alkane(17)]
    _, std = model.predict(molecules, return_std=True)
    assert std[0] > limit and std[2] > limit and std[1] < limit
    messages = _domain_messages(lambda: model.predict(molecules, return_std=True))
    uncertain = [m for m in messages if "uncertainty far above the validation level" in m]
    assert len(uncertain) == 1 and "molecule(s) 0, 2;" in uncertain[0]
    assert "2 molecule(s) outside" in uncertain[0]
    # without the std, only the other reasons
    assert not any("uncertainty" in m for m in _domain_messages(lambda: model.predict(molecules)))


def test_domain_std_limit_is_per_target():
    domain = TrainingDomain(max_heavy_atoms=2, elements=frozenset({1, 6}), bonded_pairs=frozenset())
    domain = domain.with_std_limit(np.column_stack([np.arange(101.0), 10 * np.arange(101.0)]))
    assert domain.std_limit == (STD_LIMIT_FACTOR * 99.0, STD_LIMIT_FACTOR * 990.0)
    methane = np.zeros((3, 5, 4))
    methane[:, 0, 0] = 6
    std = np.array([[1.0, 1.0], [250.0, 1.0], [1.0, 2500.0]])
    assert list(domain.outside(methane, std).values()) == [[1, 2]]


def test_std_scale_and_calibration_curve():
    residuals = np.array([1.0, -2.0, 3.0, -4.0])
    np.testing.assert_allclose(std_scale(residuals, 2.0 * np.ones(4)), np.sqrt(30 / 4) / 2)
    with pytest.raises(ValueError, match="positive and finite"):
        std_scale(residuals, np.array([1.0, 0.0, 1.0, 1.0]))
    rng = np.random.default_rng(0)
    std = rng.uniform(0.5, 2.0, 200_000)
    expected, observed = calibration_curve(rng.normal(0, std), std, [0.5, 0.9, 0.954])
    np.testing.assert_allclose(observed, expected, atol=5e-3)
    np.testing.assert_allclose(expected[2], erf(2 / np.sqrt(2)), atol=5e-4)


def test_a_weight_averaged_network_has_a_std_too(qm9_subset):
    X, y = qm9_subset
    model = ACNRegressor(ema_decay=0.9, max_epochs=2, random_state=0, **TINY).fit(X[:80], y[:80])
    mean, std = model.predict(X[80:90], return_std=True)
    np.testing.assert_allclose(mean, model.predict(X[80:90]), rtol=1e-6)
    assert np.all(np.isfinite(std)) and np.all(std > 0)
