"""The model catalogue: every model the command line, learning curves and tuning know.

Each model is one :class:`ModelEntry` of :data:`CATALOGUE` (name, factory, kind,
search space and label); adding a model is adding an
entry. A model spec is a name with optional parameters: ``"slatm"``,
``"acn:radius=4"``, ``"acn:hidden_sizes=(64, 64),lr=1e-3"``. Parameter values are
Python literals (numbers, strings, booleans, tuples); anything else is taken as a
string.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Literal

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.base import BaseEstimator

__all__ = [
    "CATALOGUE",
    "MODEL_NAMES",
    "ModelEntry",
    "format_model_spec",
    "make_model",
    "model_entry",
    "parse_model_spec",
    "set_elements",
    "set_target",
]


@dataclass(frozen=True)
class ModelEntry:
    """One model of the catalogue.

    Attributes
    ----------
    name : str
        The name in model specs (``"slatm"``).
    label : str
        The name the paper and the docs use (``"SLATM"``).
    factory : str
        Dotted path of the function or class that builds the estimator from
        keyword parameters; imported on first use, so the command line starts
        without torch or qmllib.
    kind : {"kernel", "network", "exact"}
        Kernel models are tuned by k-fold cross-validation, networks on their
        validation split with pruning; exact models compute the property from
        the geometry and have nothing to tune.
    search_space : mapping
        Parameter name (nested for pipelines: ``krr__sigma``) -> Optuna distribution.
    in_default_curve : bool
        Whether ``acn-sklearn learning-curve`` runs it by default.
    targets : {"molecular", "atomic"}
        What the model predicts: molecular targets (y of shape (n_molecules,)
        or (n_molecules, n_targets)) or per-atom ones (y of shape
        (n_molecules, max_atoms), scored over real atoms only, see
        :mod:`acn_sklearn.scoring`).
    """

    name: str
    label: str
    factory: str
    kind: Literal["kernel", "network", "exact"]
    search_space: Mapping[str, BaseDistribution]
    in_default_curve: bool = True
    targets: Literal["molecular", "atomic"] = "molecular"

    def make(self, **params) -> BaseEstimator:
        """A fresh estimator with ``params`` set."""
        module, _, attribute = self.factory.rpartition(".")
        return getattr(import_module(module), attribute)(**params)


#: Every model, by name.
CATALOGUE: dict[str, ModelEntry] = {
    entry.name: entry
    for entry in [
        ModelEntry(
            name="cm",
            label="CM",
            factory="acn_sklearn.pipelines.make_cm_krr",
            kind="kernel",
            search_space={
                "krr__sigma": FloatDistribution(10.0, 1e5, log=True),
                "krr__alpha": FloatDistribution(1e-12, 1e-4, log=True),
                "krr__kernel": CategoricalDistribution(["laplacian", "gaussian"]),
            },
        ),
        ModelEntry(
            name="slatm",
            label="SLATM",
            factory="acn_sklearn.pipelines.make_slatm_krr",
            kind="kernel",
            # sigma and alpha are chosen by leave-one-out inside every fit.
            search_space={
                "krr__kernel": CategoricalDistribution(["gaussian", "laplacian"]),
                "slatm__rcut": FloatDistribution(3.5, 6.0),
            },
        ),
        ModelEntry(
            name="fchl19",
            label="FCHL19",
            factory="acn_sklearn.pipelines.make_fchl19_krr",
            kind="kernel",
            # sigma and alpha are chosen by leave-one-out inside every fit.
            search_space={
                "fchl19__rcut": FloatDistribution(3.5, 8.0),
                "fchl19__acut": FloatDistribution(3.5, 8.0),
            },
        ),
        ModelEntry(
            name="acn",
            label="ACN",
            factory="acn_sklearn.acn.ACNRegressor",
            kind="network",
            search_space={
                "radius": FloatDistribution(2.0, 6.0),
                "cloud_order": IntDistribution(2, 4),
                "embedding_dim": CategoricalDistribution([16, 24, 32, 48]),
                "n_clouds": IntDistribution(1, 3),
                "n_radial": IntDistribution(4, 12),
                "radial_basis": CategoricalDistribution(["bessel", "gaussian"]),
                "atom_dim": CategoricalDistribution([64, 128, 192]),
                "lr": FloatDistribution(1e-4, 1e-2, log=True),
                "optimizer__weight_decay": FloatDistribution(1e-3, 0.3, log=True),
                "batch_size": CategoricalDistribution([16, 32, 64, 128]),
                "pooling": CategoricalDistribution(["sum", "power"]),
                "pooling_power": FloatDistribution(1.0, 4.0),
                "ema_decay": CategoricalDistribution([None, 0.999]),
            },
        ),
        ModelEntry(
            name="acn_atom",
            label="ACN (atoms)",
            factory="acn_sklearn.acn.ACNAtomRegressor",
            kind="network",
            # For atomic targets (mulliken_charges): one value per atom, never pooled.
            search_space={
                "radius": FloatDistribution(2.0, 6.0),
                "cloud_order": IntDistribution(2, 4),
                "embedding_dim": CategoricalDistribution([16, 24, 32, 48]),
                "n_clouds": IntDistribution(1, 3),
                "n_radial": IntDistribution(4, 12),
                "radial_basis": CategoricalDistribution(["bessel", "gaussian"]),
                "atom_dim": CategoricalDistribution([64, 128, 192]),
                "lr": FloatDistribution(1e-4, 1e-2, log=True),
                "optimizer__weight_decay": FloatDistribution(1e-3, 0.3, log=True),
                "batch_size": CategoricalDistribution([16, 32, 64, 128]),
                "ema_decay": CategoricalDistribution([None, 0.999]),
            },
            in_default_curve=False,
            targets="atomic",
        ),
        ModelEntry(
            name="cm_nystroem",
            label="CM (Nystroem)",
            factory="acn_sklearn.pipelines.make_cm_nystroem",
            kind="kernel",
            search_space={
                "krr__sigma": FloatDistribution(10.0, 1e5, log=True),
                "krr__alpha": FloatDistribution(1e-12, 1e-4, log=True),
            },
            in_default_curve=False,
        ),
        ModelEntry(
            name="slatm_nystroem",
            label="SLATM (Nystroem)",
            factory="acn_sklearn.pipelines.make_slatm_nystroem",
            kind="kernel",
            search_space={
                "krr__sigma": FloatDistribution(10.0, 1e5, log=True),
                "krr__alpha": FloatDistribution(1e-12, 1e-4, log=True),
            },
            in_default_curve=False,
        ),
        ModelEntry(
            name="fchl19_atom",
            label="FCHL19 (atomic)",
            factory="acn_sklearn.pipelines.make_fchl19_atom_krr",
            kind="kernel",
            # sigma and alpha are chosen by leave-one-out per element inside every fit.
            search_space={
                "representation__rcut": FloatDistribution(3.5, 8.0),
                "representation__acut": FloatDistribution(3.5, 8.0),
            },
            in_default_curve=False,
            targets="atomic",
        ),
        ModelEntry(
            name="rotational",
            label="Rotational constants",
            factory="acn_sklearn.properties.RotationalConstants",
            kind="exact",
            search_space={},
            in_default_curve=False,
        ),
    ]
}

#: Model names the command line and :func:`make_model` know.
MODEL_NAMES = tuple(CATALOGUE)


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
    if name not in CATALOGUE:
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


def format_model_spec(spec: str, **params) -> str:
    """The spec of ``spec``'s model with ``params`` set as well, as one string.

    Parameters
    ----------
    spec : str
        A model spec (``"slatm"`` or ``"cm:krr__alpha=1e-6"``).
    **params
        Parameters to set; they replace those of ``spec`` of the same name.

    Returns
    -------
    str
        ``"name:key=value,..."`` that :func:`parse_model_spec` reads back to
        the same name and parameters (values written as Python literals).

    Examples
    --------
    >>> format_model_spec("cm:cm__size=40", krr__sigma=3000.0)
    'cm:cm__size=40,krr__sigma=3000.0'
    """
    name, given = parse_model_spec(spec)
    merged = {**given, **params}
    # numpy scalars (a search's values) as the Python numbers they hold
    items = ",".join(
        f"{key}={(value.item() if isinstance(value, np.generic) else value)!r}"
        for key, value in merged.items()
    )
    return f"{name}:{items}" if items else name


def model_entry(spec: str) -> ModelEntry:
    """The catalogue entry of a model spec (``"acn:radius=4"`` -> the ACN entry)."""
    return CATALOGUE[parse_model_spec(spec)[0]]


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
    model = CATALOGUE[name].make()
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


def set_target(model: BaseEstimator, target: str) -> BaseEstimator:
    """Name a QM9 target to a model, on every step that has a ``target`` parameter.

    Models that build the kind of the target into their output read it, e.g.
    :class:`~acn_sklearn.ACNRegressor` picks its property head from
    :data:`acn_sklearn.datasets.TARGET_KINDS` (``target="mu"``: the dipole head).
    A name that is not in ``TARGET_KINDS`` (the user's own target) has no known
    kind and leaves the model unchanged, as do models without such a parameter; a
    target already set explicitly is left alone.

    Parameters
    ----------
    model : estimator
    target : str
        The target's name, e.g. ``"mu"``.

    Returns
    -------
    model : the same estimator
    """
    from .datasets import TARGET_KINDS

    if target not in TARGET_KINDS:
        return model
    params = model.get_params()
    keys = [k for k in params if k.split("__")[-1] == "target" and params[k] is None]
    return model.set_params(**{k: target for k in keys})
