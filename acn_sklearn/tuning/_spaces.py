"""Search spaces of every model, in one place, as Optuna distributions."""

from __future__ import annotations

from collections.abc import Mapping

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from ..registry import MODEL_NAMES

__all__ = ["SEARCH_SPACES", "sample_params", "search_space"]

_ALPHA = FloatDistribution(1e-12, 1e-4, log=True)

#: Model name -> parameter name -> distribution. Kernel models use the nested
#: pipeline names (``krr__sigma``); ACN its own parameters.
SEARCH_SPACES: dict[str, dict[str, BaseDistribution]] = {
    "cm": {
        "krr__sigma": FloatDistribution(10.0, 1e5, log=True),
        "krr__alpha": _ALPHA,
        "krr__kernel": CategoricalDistribution(["laplacian", "gaussian"]),
    },
    "slatm": {
        "krr__sigma": FloatDistribution(10.0, 1e5, log=True),
        "krr__alpha": _ALPHA,
        "krr__kernel": CategoricalDistribution(["gaussian", "laplacian"]),
    },
    "fchl19": {
        "krr__sigma": FloatDistribution(0.5, 100.0, log=True),
        "krr__alpha": _ALPHA,
    },
    "acn": {
        "radius": FloatDistribution(2.0, 6.0),
        "cloud_order": IntDistribution(2, 4),
        "embedding_dim": CategoricalDistribution([16, 24, 32, 48]),
        "n_clouds": IntDistribution(1, 3),
        "n_radial": IntDistribution(4, 12),
        "atom_dim": CategoricalDistribution([64, 128, 192]),
        "lr": FloatDistribution(1e-4, 1e-2, log=True),
        "batch_size": CategoricalDistribution([16, 32, 64, 128]),
        "element_clouds": CategoricalDistribution([True, False]),
        "pooling": CategoricalDistribution(["sum", "power"]),
        "pooling_power": FloatDistribution(1.0, 4.0),
    },
}


def search_space(
    model: str, overrides: Mapping[str, BaseDistribution | None] | None = None
) -> dict[str, BaseDistribution]:
    """Return a copy of a model's search space, with user overrides applied.

    Parameters
    ----------
    model : str
        ``"cm"``, ``"slatm"``, ``"fchl19"`` or ``"acn"``.
    overrides : mapping, optional
        Parameter -> distribution to replace or add; ``None`` as the value
        removes a parameter from the search.

    Returns
    -------
    dict
        Parameter name -> :class:`optuna.distributions.BaseDistribution`.

    Raises
    ------
    ValueError
        For an unknown model.
    """
    if model not in SEARCH_SPACES:
        raise ValueError(f"no search space for {model!r}; choose from {', '.join(MODEL_NAMES)}")
    space = dict(SEARCH_SPACES[model])
    for name, distribution in (overrides or {}).items():
        if distribution is None:
            space.pop(name, None)
        else:
            space[name] = distribution
    return space


def sample_params(trial: optuna.Trial, space: Mapping[str, BaseDistribution]) -> dict:
    """Ask ``trial`` for one value of every parameter of ``space``."""
    params = {}
    for name, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntDistribution):
            params[name] = trial.suggest_int(
                name, dist.low, dist.high, step=dist.step, log=dist.log
            )
        elif isinstance(dist, FloatDistribution):
            params[name] = trial.suggest_float(
                name, dist.low, dist.high, step=dist.step, log=dist.log
            )
        else:
            raise TypeError(f"unsupported distribution for {name}: {dist!r}")
    return params
