"""Models by name, so the command line and the benchmarks build them the same way.

A model spec is a name with optional parameters: ``"slatm"``, ``"acn:radius=4"``,
``"acn:hidden_sizes=(64, 64),lr=1e-3"``. Parameter values are Python literals
(numbers, strings, booleans, tuples); anything else is taken as a string.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from sklearn.base import BaseEstimator

__all__ = ["MODEL_NAMES", "make_model", "parse_model_spec", "set_elements"]


def _acn(**params):
    from .acn import ACNRegressor

    return ACNRegressor(**params)


def _pipeline(name: str) -> Callable[..., BaseEstimator]:
    def make(**params):
        from . import pipelines

        return getattr(pipelines, f"make_{name}_krr")(**params)

    return make


_FACTORIES: dict[str, Callable[..., BaseEstimator]] = {
    "cm": _pipeline("cm"),
    "slatm": _pipeline("slatm"),
    "fchl19": _pipeline("fchl19"),
    "acn": _acn,
}

#: Model names the command line and :func:`make_model` know.
MODEL_NAMES = tuple(_FACTORIES)


def _literal(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside brackets: ``"a=(1, 2),b=3"`` -> two items."""
    items, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


def parse_model_spec(spec: str) -> tuple[str, dict]:
    """Split ``"name:key=value,key=value"`` into the name and a parameter dict.

    Parameters
    ----------
    spec : str
        A model spec.

    Returns
    -------
    name : str
    params : dict

    Raises
    ------
    ValueError
        For an unknown model name or a parameter without ``=``.
    """
    name, _, rest = spec.partition(":")
    name = name.strip().lower()
    if name not in _FACTORIES:
        raise ValueError(
            f"unknown model {name!r} in {spec!r}; choose from {', '.join(MODEL_NAMES)}"
        )
    params = {}
    for item in _split_top_level(rest):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ValueError(f"model parameter {item!r} in {spec!r} is not of the form key=value")
        params[key.strip()] = _literal(value.strip())
    return name, params


def make_model(spec: str, **overrides) -> BaseEstimator:
    """Build a fresh, unfitted estimator from a model spec.

    Parameters
    ----------
    spec : str
        ``"cm"``, ``"slatm"``, ``"fchl19"`` or ``"acn"``, optionally followed by
        ``:key=value,...`` parameters (e.g. ``"acn:radius=4"``).
    **overrides
        Further parameters; they win over those in the spec.

    Returns
    -------
    estimator : sklearn estimator
        ``make_cm_krr(...)``, ``make_slatm_krr(...)``, ``make_fchl19_krr(...)``
        or ``ACNRegressor(...)``.

    Raises
    ------
    ValueError
        For an unknown name, a malformed spec, or a parameter the model does not have.
    """
    name, params = parse_model_spec(spec)
    params.update(overrides)
    model = _FACTORIES[name]()
    unknown = sorted(set(params) - set(model.get_params()))
    if unknown:
        raise ValueError(
            f"model {name!r} has no parameter(s) {unknown}; see {name}'s get_params() for the list"
        )
    return model.set_params(**params)


def set_elements(model: BaseEstimator, elements) -> BaseEstimator:
    """Declare the elements a model must handle, on every step that has ``elements``.

    Small training sets can miss a rare element (QM9 has fluorine in 2 % of its
    molecules) that test molecules contain; models then refuse those molecules.
    Declaring the chemical space up front (QM9: H, C, N, O, F) lets them predict.
    Parameters already set explicitly are left alone.

    Parameters
    ----------
    model : estimator
    elements : sequence of int

    Returns
    -------
    model : the same estimator
    """
    params = model.get_params()
    keys = [k for k in params if k.split("__")[-1] == "elements" and params[k] is None]
    return model.set_params(**{k: tuple(int(z) for z in elements) for k in keys})
