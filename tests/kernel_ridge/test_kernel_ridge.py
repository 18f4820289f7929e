"""Kernel ridge regression: kernels against qmllib, solutions against sklearn."""

import os
import pickle

import numpy as np
import pytest
from qmllib.kernels import gaussian_kernel as qml_gaussian
from qmllib.kernels import get_local_kernel
from qmllib.kernels import laplacian_kernel as qml_laplacian
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.kernel_ridge import KernelRidge

from acn_sklearn.kernel_ridge import KernelRidgeRegressor, _krr, local_gaussian_kernel
from acn_sklearn.kernel_ridge._kernels import gaussian_kernel, laplacian
from acn_sklearn.representations import FCHL19, CoulombMatrix


@pytest.fixture(scope="module")
def cm_data(qm9_subset):
    X, y = qm9_subset
    return CoulombMatrix().fit(X).transform(X), np.asarray(y)


@pytest.fixture(scope="module")
def fchl_data(qm9_subset):
    X, y = qm9_subset
    return FCHL19().fit(X[:60]).transform(X[:60]), np.asarray(y[:60])


def _charges(R):
    return [row[row[:, 0] > 0, 0].astype(int) for row in R]


@pytest.mark.parametrize("sigma", [30.0, 3000.0])
def test_global_kernels_match_qmllib(cm_data, sigma):
    R = cm_data[0][:150]
    A, B = R[:100], R[100:]
    np.testing.assert_allclose(
        gaussian_kernel(A, B, sigma), qml_gaussian(A, B, sigma), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        gaussian_kernel(A, None, sigma), qml_gaussian(A, A, sigma), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(laplacian(A, B, sigma), qml_laplacian(A, B, sigma), rtol=1e-12)
    np.testing.assert_allclose(laplacian(A, None, sigma), qml_laplacian(A, A, sigma), rtol=1e-12)


@pytest.mark.parametrize("block_atoms", [7, 4096])
def test_local_kernel_matches_qmllib(fchl_data, block_atoms):
    R = fchl_data[0]
    A, B = R[:35], R[35:]
    sigma = 4.0
    # qmllib returns the (n_B, n_A) matrix for get_local_kernel(A, B, ...)
    expected = get_local_kernel(A[:, :, 1:], B[:, :, 1:], _charges(A), _charges(B), sigma).T
    K = local_gaussian_kernel(A, B, sigma, block_atoms=block_atoms)
    np.testing.assert_allclose(K, expected, rtol=1e-10)
    expected_sym = get_local_kernel(A[:, :, 1:], A[:, :, 1:], _charges(A), _charges(A), sigma)
    K_sym = local_gaussian_kernel(A, None, sigma, block_atoms=block_atoms)
    np.testing.assert_allclose(K_sym, expected_sym, rtol=1e-10)
    np.testing.assert_array_equal(K_sym, K_sym.T)


@pytest.mark.parametrize(("kernel", "sigma"), [("gaussian", 500.0), ("laplacian", 2000.0)])
@pytest.mark.parametrize("baseline", ["mean", None])
def test_same_predictions_as_sklearn_kernel_ridge(cm_data, kernel, sigma, baseline):
    R, y = cm_data
    train, test = slice(0, 300), slice(300, None)
    kernels = {"gaussian": qml_gaussian, "laplacian": qml_laplacian}
    K_train = kernels[kernel](R[train], R[train], sigma)
    K_test = kernels[kernel](R[test], R[train], sigma)
    offset = y[train].mean() if baseline == "mean" else 0.0
    reference = KernelRidge(alpha=1e-6, kernel="precomputed").fit(K_train, y[train] - offset)
    expected = reference.predict(K_test) + offset
    model = KernelRidgeRegressor(kernel=kernel, sigma=sigma, alpha=1e-6, baseline=baseline)
    predicted = model.fit(R[train], y[train]).predict(R[test])
    np.testing.assert_allclose(predicted, expected, rtol=0, atol=1e-6)


def test_local_kernel_regression_matches_sklearn(fchl_data):
    R, y = fchl_data
    train, test = slice(0, 45), slice(45, None)
    K = local_gaussian_kernel(R, None, 4.0)
    reference = KernelRidge(alpha=1e-7, kernel="precomputed").fit(K[train, train], y[train])
    model = KernelRidgeRegressor(kernel="local_gaussian", sigma=4.0, alpha=1e-7, baseline=None)
    np.testing.assert_allclose(
        model.fit(R[train], y[train]).predict(R[test]),
        reference.predict(K[test, train]),
        rtol=0,
        atol=1e-6,
    )


def test_multi_output_equals_separate_fits(cm_data):
    R, y = cm_data
    Y = np.column_stack([y, 2.0 * y + R[:, 0]])
    model = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0)
    both = model.fit(R[:300], Y[:300]).predict(R[300:])
    assert both.shape == (100, 2)
    for column in range(2):
        single = clone(model).fit(R[:300], Y[:300, column]).predict(R[300:])
        np.testing.assert_allclose(both[:, column], single, rtol=1e-9)


def test_learns_better_than_the_mean(cm_data):
    R, y = cm_data
    model = KernelRidgeRegressor(kernel="laplacian", sigma=2000.0).fit(R[:300], y[:300])
    mae = np.abs(model.predict(R[300:]) - y[300:]).mean()
    assert mae < 0.3 * np.abs(y[:300].mean() - y[300:]).mean()


def test_memory_guard_refuses_before_allocating(cm_data, monkeypatch):
    R, y = cm_data

    def must_not_run(*args):
        raise AssertionError("the kernel was built despite the memory guard")

    monkeypatch.setitem(_krr.GLOBAL_KERNELS, "laplacian", must_not_run)
    model = KernelRidgeRegressor(kernel="laplacian", max_memory=200 * 200 * 8 + R.nbytes)
    with pytest.raises(MemoryError, match=r"400 x 400 training kernel .* at most N = 200 "):
        model.fit(R, y)


def test_memory_guard_uses_available_memory(cm_data, monkeypatch):
    R, y = cm_data
    monkeypatch.setattr(_krr, "check_kernel_fits", _krr.check_kernel_fits)
    monkeypatch.setattr("acn_sklearn.kernel_ridge._memory.available_memory", lambda: 10**6)
    with pytest.raises(MemoryError, match="0.00 GiB are available"):
        KernelRidgeRegressor().fit(R, y)


def test_not_positive_definite_says_increase_alpha():
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match="increase alpha"):
        KernelRidgeRegressor(alpha=0.0).fit(X, np.arange(5.0))


def test_local_kernel_needs_atom_rows(cm_data):
    R, y = cm_data
    with pytest.raises(ValueError, match="kernel='local_gaussian' needs X of shape"):
        KernelRidgeRegressor(kernel="local_gaussian").fit(R, y)


def test_sklearn_behaviour(fchl_data):
    R, y = fchl_data
    model = KernelRidgeRegressor(kernel="local_gaussian", sigma=3.0, baseline=None)
    with pytest.raises(NotFittedError):
        model.predict(R)
    assert clone(model).get_params() == model.get_params()
    fitted = clone(model).fit(R, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(R[:5]), fitted.predict(R[:5]))
    with pytest.raises(ValueError, match="features per atom"):
        fitted.predict(R[:, :, :10])


MEMINFO = """\
MemTotal:       16318412 kB
MemFree:          812300 kB
MemAvailable:       1000 kB
Buffers:          204812 kB
"""


@pytest.fixture
def fake_meminfo(monkeypatch):
    """/proc/meminfo saying 1000 kB (1,024,000 bytes) are available."""
    import builtins
    import io

    from acn_sklearn.kernel_ridge import _memory

    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        if str(path) == "/proc/meminfo":
            return io.StringIO(MEMINFO)
        return real_open(path, *args, **kwargs)

    # The module's own name "open" shadows the builtin for the module alone.
    monkeypatch.setattr(_memory, "open", fake_open, raising=False)
    return 1000 * 1024


def test_available_memory_reads_meminfo_in_bytes(fake_meminfo):
    from acn_sklearn.kernel_ridge._memory import available_memory

    assert available_memory() == fake_meminfo


@pytest.mark.skipif(not os.path.exists("/proc/meminfo"), reason="needs Linux /proc/meminfo")
def test_available_memory_agrees_with_the_real_meminfo():
    from acn_sklearn.kernel_ridge._memory import available_memory

    def kib_available():
        with open("/proc/meminfo") as handle:
            (line,) = [line for line in handle if line.startswith("MemAvailable:")]
        return int(line.split()[1])

    before, measured, after = kib_available(), available_memory(), kib_available()
    # Memory moves between reads, but by far less than a factor of 2 (kB vs bytes: 1024).
    assert 0.5 * min(before, after) * 1024 < measured < 2 * max(before, after) * 1024


def test_the_guard_compares_bytes_with_bytes(fake_meminfo):
    from acn_sklearn.kernel_ridge._memory import check_kernel_fits

    # 357 x 357 x 8 = 1,019,592 bytes fit in 1,024,000; 358 x 358 x 8 = 1,025,312 do not.
    check_kernel_fits(357, None)
    with pytest.raises(MemoryError, match="at most N = 357 "):
        check_kernel_fits(358, None)


@pytest.mark.parametrize("overhead", [0, 12_345])
def test_the_guard_admits_a_kernel_of_exactly_max_memory(overhead):
    from acn_sklearn.kernel_ridge._memory import check_kernel_fits

    need = 250 * 250 * 8 + overhead
    check_kernel_fits(250, need, overhead=overhead)
    with pytest.raises(MemoryError, match=r"250 x 250 training kernel .* at most N = 249 "):
        check_kernel_fits(250, need - 1, overhead=overhead)
    # One more sample does not fit in the same budget either.
    with pytest.raises(MemoryError, match="at most N = 250 "):
        check_kernel_fits(251, need, overhead=overhead)
