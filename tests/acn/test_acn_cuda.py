"""ACNRegressor on a CUDA GPU: fitting, moving a fitted model, CPU agreement.

All tests here carry the ``gpu`` marker (``pytest -m gpu``) and are skipped
on machines without CUDA; ``benchmarks/speed/gpu_check.sh`` runs them on one.
"""

import copy

import numpy as np
import pytest
import torch

from acn_sklearn import ACNRegressor

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda)"),
]


def _on(model, device):
    """A copy of a fitted model whose network lives on ``device``.

    ``set_params(device=...)`` alone only changes where skorch sends each
    batch: the fitted ``module_`` stays where it was, so it is moved too.
    """
    model = copy.deepcopy(model)
    model.set_params(device=device)
    model.module_.to(device)
    model.criterion_.to(device)
    return model


def _mae(model, X, y):
    return np.abs(model.predict(X) - y).mean()


def test_cuda(qm9_subset, tiny):
    X, y = qm9_subset
    model = ACNRegressor(max_epochs=2, device="cuda", random_state=0, **tiny).fit(X[:60], y[:60])
    assert next(model.module_.parameters()).is_cuda
    prediction = model.predict(X[60:70])
    assert isinstance(prediction, np.ndarray) and prediction.shape == (10,)
    assert prediction.dtype == np.float64 and np.isfinite(prediction).all()


@pytest.mark.parametrize("n_clouds", [1, 2])
def test_cpu_model_moved_to_cuda_predicts_the_same(qm9_subset, tiny, n_clouds):
    X, y = qm9_subset
    cpu = ACNRegressor(max_epochs=3, n_clouds=n_clouds, random_state=0, **tiny)
    cpu.fit(X[:200], y[:200])
    gpu = _on(cpu, "cuda")
    assert next(gpu.module_.parameters()).is_cuda
    # Energies of a few thousand kcal/mol computed in float32: agreement to float32 rounding.
    np.testing.assert_allclose(gpu.predict(X[200:]), cpu.predict(X[200:]), rtol=1e-5, atol=1e-3)
    # And back: a CUDA-fitted model moved to the CPU.
    assert not next(_on(gpu, "cpu").module_.parameters()).is_cuda


def test_cuda_fit_matches_a_cpu_fit(qm9_subset, tiny):
    """Same seed, same data: the same initial weights and batch order on both devices.

    Only float32 rounding differs, so the two fits end at about the same accuracy.
    """
    X, y = qm9_subset
    params = dict(max_epochs=5, random_state=0, **tiny)
    cpu = ACNRegressor(**params).fit(X[:300], y[:300])
    gpu = ACNRegressor(device="cuda", **params).fit(X[:300], y[:300])
    mae_cpu, mae_gpu = _mae(cpu, X[300:], y[300:]), _mae(gpu, X[300:], y[300:])
    assert np.isfinite(mae_gpu)
    assert abs(mae_gpu - mae_cpu) <= 0.1 * mae_cpu, (mae_gpu, mae_cpu)
    # Its predictions on the CPU agree with its own CUDA predictions.
    np.testing.assert_allclose(
        _on(gpu, "cpu").predict(X[300:]), gpu.predict(X[300:]), rtol=1e-5, atol=1e-3
    )
