"""Hyperparameters chosen by closed-form leave-one-out (``sigma="auto"``, ``alpha="auto"``)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.utils._param_validation import InvalidParameterError

from acn_sklearn.kernel_ridge import KernelRidgeRegressor, local_gaussian_kernel
from acn_sklearn.kernel_ridge._kernels import gaussian_kernel, laplacian
from acn_sklearn.kernel_ridge._loo import (
    ALPHA_FACTORS,
    SIGMA_FACTORS,
    descend,
    distance_scale,
    loo_residuals,
)
from acn_sklearn.representations import FCHL19, CoulombMatrix


def _element_residual(X, y):
    """y minus its least-squares fit on element counts, as the pipelines regress."""
    counts = [np.count_nonzero(X[:, :, 0] == z, axis=1) for z in (1, 6, 7, 8, 9)]
    design = np.column_stack([*counts, np.ones(len(X))])
    return y - design @ np.linalg.lstsq(design, y, rcond=None)[0]


@pytest.fixture(scope="module")
def cm_data(qm9_subset):
    X, y = qm9_subset
    return CoulombMatrix().fit(X).transform(X), _element_residual(X, y)


@pytest.fixture(scope="module")
def fchl_data(qm9_subset):
    X, y = qm9_subset
    return FCHL19().fit(X[:40]).transform(X[:40]), _element_residual(X[:40], y[:40])


def _explicit_loo(R, y, **params):
    """Leave-one-out residuals by N refits."""
    residuals = []
    for i in range(len(R)):
        keep = np.arange(len(R)) != i
        model = KernelRidgeRegressor(baseline=None, **params).fit(R[keep], y[keep])
        residuals.append(y[i] - model.predict(R[i : i + 1])[0])
    return np.array(residuals)


@pytest.mark.parametrize(
    ("kernel", "sigma", "alpha"),
    [("gaussian", 300.0, 1e-6), ("laplacian", 2000.0, 1e-3), ("local_gaussian", 3.0, 1e-4)],
)
def test_loo_residuals_equal_explicit_refits(cm_data, fchl_data, kernel, sigma, alpha):
    R, y = fchl_data if kernel == "local_gaussian" else (cm_data[0][:40], cm_data[1][:40])
    build = {"gaussian": gaussian_kernel, "laplacian": laplacian}.get(kernel, local_gaussian_kernel)
    K = build(R, None, sigma)
    explicit = _explicit_loo(R, y, kernel=kernel, sigma=sigma, alpha=alpha)
    np.testing.assert_allclose(loo_residuals(K, y, alpha), explicit, rtol=1e-6, atol=1e-8)
    # several targets at once
    both = loo_residuals(K, np.column_stack([y, 2 * y]), alpha)
    np.testing.assert_allclose(both, np.column_stack([explicit, 2 * explicit]), rtol=1e-6)


@pytest.mark.parametrize(
    ("kernel", "sigmas"),
    [
        ("gaussian", [100.0, 300.0, 900.0]),
        ("laplacian", [500.0, 2000.0, 8000.0]),
        ("local_gaussian", [1.0, 3.0, 9.0]),
    ],
)
def test_search_scores_are_explicit_loo_maes(cm_data, fchl_data, kernel, sigmas):
    R, y = fchl_data if kernel == "local_gaussian" else (cm_data[0][:40], cm_data[1][:40])
    model = KernelRidgeRegressor(kernel=kernel, sigma=sigmas, alpha=[1e-6, 1e-3], baseline=None)
    model.fit(R, y)
    results = model.cv_results_
    for sigma, alpha, mae in zip(*results.values(), strict=True):
        explicit = _explicit_loo(R, y, kernel=kernel, sigma=sigma, alpha=alpha)
        assert mae == pytest.approx(np.abs(explicit).mean(), rel=1e-6)
    assert model.loo_mae_ == results["loo_mae"].min()
    best = np.argmin(results["loo_mae"])
    assert (model.sigma_, model.alpha_) == (results["sigma"][best], results["alpha"][best])


def test_local_kernel_of_several_sigmas_equals_separate_kernels(fchl_data):
    R, _ = fchl_data
    together = local_gaussian_kernel(R, R[:7], [2.0, 5.0], block_atoms=50)
    assert together.shape == (2, 40, 7)
    for K, sigma in zip(together, [2.0, 5.0], strict=True):
        np.testing.assert_allclose(K, local_gaussian_kernel(R, R[:7], sigma), rtol=1e-12)
    symmetric = local_gaussian_kernel(R, None, [2.0, 5.0], block_atoms=50)
    np.testing.assert_allclose(symmetric[1], local_gaussian_kernel(R, None, 5.0), rtol=1e-12)


def test_refit_at_the_chosen_values_equals_a_fixed_fit(cm_data):
    R, y = cm_data
    auto = KernelRidgeRegressor(kernel="laplacian", sigma="auto", alpha="auto")
    auto.fit(R[:200], y[:200])
    fixed = KernelRidgeRegressor(kernel="laplacian", sigma=auto.sigma_, alpha=auto.alpha_)
    fixed.fit(R[:200], y[:200])
    np.testing.assert_allclose(auto.predict(R[200:]), fixed.predict(R[200:]), rtol=1e-9)
    assert not hasattr(fixed, "cv_results_")
    assert (fixed.sigma_, fixed.alpha_) == (auto.sigma_, auto.alpha_)
    auto.set_params(sigma=1e3, alpha=1e-8).fit(R[:50], y[:50])
    assert not hasattr(auto, "cv_results_") and not hasattr(auto, "loo_mae_")


def test_auto_grids_are_relative_to_the_data(cm_data):
    R, y = cm_data
    model = KernelRidgeRegressor(kernel="laplacian", sigma="auto", alpha="auto").fit(R, y)
    scale = distance_scale(R, "laplacian")
    assert 300 < scale < 1000  # median L1 distance between Coulomb matrices
    assert np.all(np.isin(model.cv_results_["sigma"], SIGMA_FACTORS["laplacian"] * scale))
    assert np.all(np.isin(model.cv_results_["alpha"], ALPHA_FACTORS))  # diagonal of ones
    # the descent starts in the middle of the grid
    middle = (SIGMA_FACTORS["laplacian"][6] * scale, ALPHA_FACTORS[2])
    assert (model.cv_results_["sigma"][0], model.cv_results_["alpha"][0]) == middle
    rescaled = KernelRidgeRegressor(kernel="laplacian", sigma="auto", alpha="auto").fit(3 * R, y)
    assert rescaled.sigma_ == pytest.approx(3 * model.sigma_)


def test_chosen_sigma_moves_with_n_as_kfold_cv_says(cm_data):
    R, y = cm_data
    sigmas = 2.0 ** np.arange(6, 16)
    chosen, best_cv = {}, {}
    for n in (25, 400):
        cv = np.zeros(len(sigmas))
        for train, test in KFold(5, shuffle=True, random_state=0).split(R[:n]):
            for i, sigma in enumerate(sigmas):
                model = KernelRidgeRegressor(kernel="laplacian", sigma=sigma, alpha=1e-8)
                model.fit(R[train], y[train])
                cv[i] += np.abs(model.predict(R[test]) - y[test]).mean() / 5
        loo = KernelRidgeRegressor(kernel="laplacian", sigma=sigmas, alpha=1e-8).fit(R[:n], y[:n])
        chosen[n], best_cv[n] = loo.sigma_, sigmas[np.argmin(cv)]
        # the leave-one-out choice is (nearly) as good in cross-validation as the best
        assert cv[np.flatnonzero(sigmas == loo.sigma_)[0]] < 1.05 * cv.min()
    assert best_cv[400] > best_cv[25]  # cross-validation wants a wider kernel at larger N
    assert chosen[400] > chosen[25]  # and so does leave-one-out


def test_descend_reaches_the_minimum_scoring_each_point_once():
    calls = []

    def score(index):
        calls.append(index)
        return (index[0] - 7) ** 2 + (index[1] - 1) ** 2

    best, scores = descend(score, (10, 5), (2, 4))
    assert best == (7, 1)
    assert len(calls) == len(set(calls)) == len(scores)
    assert next(iter(scores)) == (2, 4)
    assert len(scores) < 10 * 5


def test_descend_keeps_near_ties_at_the_start():
    best, scores = descend(lambda index: 1.0 - 1e-5 * index[0], (5,), (2,))
    assert best == (2,)
    assert len(scores) == 3


def test_candidates_not_positive_definite_score_inf():
    X = np.repeat(np.random.default_rng(0).normal(size=(10, 3)), 2, axis=0)  # duplicates
    model = KernelRidgeRegressor(sigma=1.0, alpha=[0.0, 1e-3]).fit(X, X.sum(axis=1))
    assert model.alpha_ == 1e-3
    assert np.isinf(model.cv_results_["loo_mae"][model.cv_results_["alpha"] == 0.0]).all()


def test_not_positive_definite_at_every_candidate_says_increase_alpha():
    with pytest.raises(ValueError, match="increase alpha"):
        KernelRidgeRegressor(sigma="auto", alpha=0.0).fit(np.ones((5, 3)), np.arange(5.0))


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"sigma": "median"}, InvalidParameterError, "'sigma' parameter"),
        ({"alpha": "best"}, InvalidParameterError, "'alpha' parameter"),
        ({"sigma": -1.0}, InvalidParameterError, "'sigma' parameter"),
        ({"sigma": []}, ValueError, "sigma must be positive and finite, or a non-empty array"),
        ({"sigma": [1.0, 0.0]}, ValueError, "sigma must be positive"),
        ({"sigma": [1.0, np.inf]}, ValueError, "sigma must be positive and finite"),
        ({"alpha": [1e-3, -1e-3]}, ValueError, "alpha must be non-negative"),
    ],
)
def test_invalid_candidates_raise(cm_data, params, error, message):
    R, y = cm_data
    with pytest.raises(error, match=message):
        KernelRidgeRegressor(**params).fit(R[:20], y[:20])


def test_search_keeps_sklearn_conventions(cm_data):
    R, y = cm_data
    model = KernelRidgeRegressor(kernel="laplacian", sigma=[1e3, 4e3], alpha="auto")
    assert clone(model).get_params() == model.get_params()
    fitted = clone(model).fit(R[:50], y[:50])
    assert model.get_params()["sigma"] == [1e3, 4e3]  # parameters stay as given
    assert fitted.sigma_ in (1e3, 4e3)
    assert not hasattr(model, "sigma_")


def test_memory_guard_counts_the_search_matrices(cm_data):
    R, y = cm_data
    one_kernel = 400 * 400 * 8 + R.nbytes
    KernelRidgeRegressor(kernel="laplacian", sigma=1e3, max_memory=one_kernel).fit(R, y)
    with pytest.raises(MemoryError, match=r"matrices \(2 of them\) need .* at most N = 282 "):
        KernelRidgeRegressor(kernel="laplacian", sigma="auto", max_memory=one_kernel).fit(R, y)


def test_local_kernel_search_holds_one_kernel_at_a_time(fchl_data, monkeypatch):
    """While sigma and alpha are searched, at most one local kernel built by the search is
    alive when a candidate is scored (the last sigma's; its copy is factorised): keeping
    every sigma visited made the search's peak memory 1.75x that of one fit."""
    import weakref

    from acn_sklearn.kernel_ridge import _krr

    R, y = fchl_data
    built, alive = [], []
    kernel = KernelRidgeRegressor._kernel

    def recording(self, *args, **kwargs):
        K = kernel(self, *args, **kwargs)
        built.append(weakref.ref(K))
        return K

    loo = _krr.loo_residuals

    def counting(*args, **kwargs):
        alive.append(sum(ref() is not None for ref in built))
        return loo(*args, **kwargs)

    monkeypatch.setattr(KernelRidgeRegressor, "_kernel", recording)
    monkeypatch.setattr(_krr, "loo_residuals", counting)
    model = KernelRidgeRegressor(kernel="local_gaussian", sigma="auto", alpha="auto")
    model.fit(R, y)
    assert len(set(model.cv_results_["sigma"])) > 1 and len(alive) > 3
    assert max(alive) == 1
