"""Small fitted ACN models shared by the ACN tests (tiny networks, few epochs)."""

import pytest
import torch

from acn_sklearn import ACNRegressor
from acn_sklearn.acn import _data

TINY = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, batch_size=50
)


@pytest.fixture
def tiny():
    """Parameters of a tiny, fast network."""
    return dict(TINY)


@pytest.fixture
def float32_densities(monkeypatch):
    """Featurize with float32 densities: symmetry tests then check the architecture
    to float32 rounding, not the half-precision storage (whose rounding
    ``test_densities_are_stored_rounded_to_half_precision`` checks)."""
    monkeypatch.setattr(_data, "DENSITY_DTYPE", torch.float32)


@pytest.fixture(
    scope="session", params=["paper", "default", "two-clouds", "weight-average", "interactions"]
)
def fitted(request, qm9_subset):
    """An ACNRegressor fitted briefly on 200 molecules: the paper's pooled head, the
    default atom-wise one, a further (message-passing) cloud, a weight average, and
    two interaction layers."""
    X, y = qm9_subset
    extra = {
        "paper": dict(n_clouds=1, pooling="power", output="sigmoid"),
        "default": dict(n_clouds=1),
        "two-clouds": dict(n_clouds=2, cloud_order=3),
        "weight-average": dict(ema_decay=0.9),
        "interactions": dict(n_interactions=2, cloud_order=3),
    }[request.param]
    return ACNRegressor(max_epochs=2, random_state=0, **TINY, **extra).fit(X[:200], y[:200])
