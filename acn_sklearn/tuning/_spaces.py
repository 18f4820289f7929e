"""Search spaces: each model's from the catalogue, with a user's overrides, sampled per trial."""

from __future__ import annotations

from collections.abc import Mapping

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from ..registry import CATALOGUE, MODEL_NAMES

__all__ = ["sample_params", "search_space"]

#: Parameters that matter only for one value of another: parameter -> (other, value).
#: :func:`sample_params` asks for such a parameter only in trials that drew that value
#: (or do not search the other parameter).
CONDITIONS = {"pooling_power": ("pooling", "power")}


def search_space(
    model: str, overrides: Mapping[str, BaseDistribution | None] | None = None
) -> dict[str, BaseDistribution]:
    """Return a copy of a model's search space, with user overrides applied.

    Parameters
    ----------
    model : str
        A model name of :data:`acn_sklearn.registry.CATALOGUE`.
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
    if model not in CATALOGUE:
        raise ValueError(f"no search space for {model!r}; choose from {', '.join(MODEL_NAMES)}")
    space = dict(CATALOGUE[model].search_space)
    for name, distribution in (overrides or {}).items():
        if distribution is None:
            space.pop(name, None)
        else:
            space[name] = distribution
    return space


def sample_params(trial: optuna.Trial, space: Mapping[str, BaseDistribution]) -> dict:
    """Ask ``trial`` for one value of every parameter of ``space`` that takes effect.

    A parameter of :data:`CONDITIONS` is left out where the parameter it depends
    on was drawn with another value (``pooling_power`` where ``pooling`` is
    ``"sum"``), so that neither the trial nor the sampler sees a value that
    changed nothing.
    """
    params = {}
    for name in sorted(space, key=lambda name: name in CONDITIONS):  # conditions last
        dist = space[name]
        other, value = CONDITIONS.get(name, (None, None))
        if other in params and params[other] != value:
            continue
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
