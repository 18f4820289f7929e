"""Nystroem (landmark) kernel ridge regression: exactness at m = N, blocks, memory, conventions."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from acn_sklearn import (
    CoulombMatrix,
    KernelRidgeRegressor,
    NystroemKernelRidge,
    make_cm_krr,
    make_cm_nystroem,
    make_slatm_nystroem,
)
from acn_sklearn.kernel_ridge import _nystroem
from acn_sklearn.kernel_ridge._nystroem import nystroem_memory
from acn_sklearn.registry import make_model

N_TRAIN = 120


@pytest.fixture(scope="module")
def data(qm9_subset):
    X, y = qm9_subset
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN : N_TRAIN + 60], y[N_TRAIN : N_TRAIN + 60]


def nystroem(**params):
    defaults = {"kernel": "laplacian", "sigma": 4000.0, "alpha": 1e-8, "random_state": 0}
    cm = CoulombMatrix(size=29, elements=(1, 6, 7, 8, 9))
    return NystroemKernelRidge(cm, **{**defaults, **params})


@pytest.mark.parametrize(("kernel", "sigma"), [("laplacian", 4000.0), ("gaussian", 300.0)])
def test_all_training_molecules_as_landmarks_is_exact_krr(data, kernel, sigma):
    X, y, X_test, _ = data
    cm = CoulombMatrix(size=29, elements=(1, 6, 7, 8, 9)).fit(X)
    exact = KernelRidgeRegressor(kernel=kernel, sigma=sigma, alpha=1e-6).fit(cm.transform(X), y)
    model = nystroem(kernel=kernel, sigma=sigma, alpha=1e-6, n_landmarks=N_TRAIN).fit(X, y)
    expected = exact.predict(cm.transform(X_test))
    np.testing.assert_allclose(model.predict(X_test), expected, rtol=0, atol=1e-6)
    assert model.jitter_ <= 1e-8


def test_fewer_landmarks_approximate_and_the_factory_matches_exact_at_m_equal_n(data):
    X, y, X_test, y_test = data
    exact = make_cm_krr().fit(X, y).predict(X_test)
    full = make_cm_nystroem(krr__n_landmarks=N_TRAIN).fit(X, y).predict(X_test)
    np.testing.assert_allclose(full, exact, rtol=0, atol=1e-6)
    half = make_cm_nystroem(krr__n_landmarks=N_TRAIN // 2).fit(X, y).predict(X_test)
    assert np.abs(half - exact).max() > 1e-3  # an approximation now...
    assert np.mean(np.abs(half - y_test)) < 2 * np.mean(np.abs(exact - y_test))  # ...a fair one


def test_block_size_does_not_change_the_result(data):
    X, y, X_test, _ = data
    one = nystroem(n_landmarks=30, block_size=7).fit(X, y)
    other = nystroem(n_landmarks=30, block_size=1000).fit(X, y)
    np.testing.assert_array_equal(one.landmark_indices_, other.landmark_indices_)
    np.testing.assert_allclose(one.dual_coef_, other.dual_coef_, rtol=1e-7)
    np.testing.assert_allclose(one.predict(X_test), other.predict(X_test), rtol=0, atol=1e-8)


def test_memory_is_landmarks_squared_plus_blocks(data, monkeypatch):
    """No representation or kernel of more than max(block_size, m) molecules is ever built."""
    X, y, X_test, _ = data
    represented, kernels = [], []
    transform = CoulombMatrix.transform

    def recording_transform(self, molecules):
        represented.append(len(molecules))
        return transform(self, molecules)

    def recording(kernel):
        def wrapper(A, B, sigma):
            K = kernel(A, B, sigma)
            kernels.append(K.shape)
            return K

        return wrapper

    monkeypatch.setattr(CoulombMatrix, "transform", recording_transform)
    monkeypatch.setitem(
        _nystroem.GLOBAL_KERNELS, "laplacian", recording(_nystroem.GLOBAL_KERNELS["laplacian"])
    )
    model = nystroem(n_landmarks=20, block_size=7).fit(X, y)
    assert represented[0] == 20  # the landmarks, once
    # every training molecule once, then the calibration molecules (those that are not
    # landmarks) once more
    calibration = min(N_TRAIN - 20, _nystroem.CALIBRATION_SAMPLES)
    assert max(represented[1:]) == 7 and sum(represented[1:]) == N_TRAIN + calibration
    assert kernels[0] == (20, 20) and max(max(shape) for shape in kernels) == 20
    assert all(shape[1] == 20 for shape in kernels)
    represented.clear()
    model.predict(X_test)
    assert max(represented) == 7 and sum(represented) == len(X_test)


def test_refuses_landmarks_that_do_not_fit_and_says_how_many_do(data):
    X, y, _, _ = data
    n_features = 29 * 30 // 2
    budget = nystroem_memory(50, N_TRAIN, n_features) + 100
    model = nystroem(n_landmarks=100, block_size=1000, max_memory=budget)
    with pytest.raises(MemoryError, match=r"100 landmarks needs .* at most n_landmarks = 50 fit"):
        model.fit(X, y)
    assert nystroem_memory(51, N_TRAIN, n_features) > budget
    model.set_params(n_landmarks=50).fit(X, y)  # the m it names does fit


def test_landmarks_are_seeded_and_capped_at_the_training_set(data):
    X, y, _, _ = data
    a = nystroem(n_landmarks=30, random_state=1).fit(X, y)
    b = nystroem(n_landmarks=30, random_state=1).fit(X, y)
    c = nystroem(n_landmarks=30, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.landmark_indices_, b.landmark_indices_)
    assert not np.array_equal(a.landmark_indices_, c.landmark_indices_)
    assert np.all(np.diff(a.landmark_indices_) > 0)
    everything = nystroem(n_landmarks=10 * N_TRAIN).fit(X, y)
    np.testing.assert_array_equal(everything.landmark_indices_, np.arange(N_TRAIN))


def test_several_targets_and_the_mean_baseline(data):
    X, y, X_test, _ = data
    Y = np.column_stack([y, 2 * y + 5])
    model = nystroem(n_landmarks=40).fit(X, Y)
    prediction = model.predict(X_test)
    assert prediction.shape == (len(X_test), 2)
    np.testing.assert_allclose(model.y_baseline_, Y.mean(axis=0))
    np.testing.assert_allclose(prediction[:, 1], 2 * prediction[:, 0] + 5, rtol=1e-9)


def test_sklearn_conventions_clone_params_pickle(data):
    X, y, X_test, _ = data
    model = nystroem(n_landmarks=25)
    params = model.get_params()
    assert params["representation__size"] == 29 and params["n_landmarks"] == 25
    copy = clone(model).set_params(representation__sorting="unsorted")
    assert model.representation.sorting == "row-norm"
    assert copy.get_params()["representation__sorting"] == "unsorted"
    model.fit(X, y)
    assert model.representation_ is not model.representation
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))
    with pytest.raises(ValueError, match="n_landmarks"):
        clone(model).set_params(n_landmarks=0).fit(X, y)


def test_molecules_are_validated_once_per_fit_and_predict(data, validations):
    X, y, X_test, _ = data
    model = make_cm_nystroem(krr__n_landmarks=20, krr__block_size=16).fit(X, y)
    assert validations == [N_TRAIN]
    model.predict(X_test)
    assert validations == [N_TRAIN, len(X_test)]


def test_catalogue_entries_build_the_factories():
    for spec, kernel in [("cm_nystroem", "laplacian"), ("slatm_nystroem", "gaussian")]:
        model = make_model(f"{spec}:krr__n_landmarks=64")
        assert model.get_params()["krr__kernel"] == kernel
        assert model.get_params()["krr__n_landmarks"] == 64
    assert make_slatm_nystroem().get_params()["krr__sigma"] == 500.0


def _exact_and_nystroem_std(X, y, n_train, n_landmarks, alpha=1e-8):
    """Held-out std of exact KRR and of Nystroem, both Laplacian CM with sigma 400."""
    cm = CoulombMatrix(size=29, elements=(1, 6, 7, 8, 9)).fit(X[:n_train])
    exact = KernelRidgeRegressor(kernel="laplacian", sigma=400.0, alpha=alpha)
    exact.fit(cm.transform(X[:n_train]), y[:n_train])
    _, expected = exact.predict(cm.transform(X[n_train : n_train + 60]), return_std=True)
    model = nystroem(sigma=400.0, alpha=alpha, n_landmarks=n_landmarks)
    model.fit(X[:n_train], y[:n_train])
    _, std = model.predict(X[n_train : n_train + 60], return_std=True)
    return model, expected, std


def test_few_landmarks_give_a_std_within_a_factor_2_of_exact_krr(qm9_subset):
    """Issue 31: 20 landmarks of 100 molecules (sigma 400) gave held-out std ~1e6 kcal/mol,
    because landmarks, whose leave-one-out variance is ~alpha, calibrated the scale."""
    X, y = qm9_subset
    model, expected, std = _exact_and_nystroem_std(X, y, n_train=100, n_landmarks=20)
    ratio = std / expected
    assert 0.5 < ratio.min() and ratio.max() < 2.0, (ratio.min(), ratio.max())
    assert len(model.loo_std_) == 100 - 20  # the non-landmark training molecules calibrate


@pytest.mark.parametrize("alpha", [1e-8, 1e-2])
def test_every_molecule_a_landmark_gives_exact_krr_std(qm9_subset, alpha):
    """With m = N the Nystroem model is exact KRR: all molecules calibrate, std equal; a large
    alpha makes the weights' posterior term alpha phi^T (Phi^T Phi + alpha I)^-1 phi visible."""
    X, y = qm9_subset
    model, expected, std = _exact_and_nystroem_std(X, y, 100, n_landmarks=100, alpha=alpha)
    np.testing.assert_allclose(std, expected, rtol=1e-5)
    assert len(model.loo_std_) == 100
