"""Model specs: names and parameters from the command line."""

import numpy as np
import pytest

from acn_sklearn import (
    ACNAtomRegressor,
    ACNRegressor,
    AtomKernelRidge,
    KernelRidgeRegressor,
    RotationalConstants,
)
from acn_sklearn.registry import MODEL_NAMES, make_model, parse_model_spec


def test_parse_plain_name():
    assert parse_model_spec("SLATM") == ("slatm", {})


def test_parse_literals_strings_and_tuples():
    name, params = parse_model_spec("acn:radius=4, lr=1e-3,hidden_sizes=(64, 32),output=sigmoid")
    assert name == "acn"
    assert params == {"radius": 4, "lr": 1e-3, "hidden_sizes": (64, 32), "output": "sigmoid"}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("schnet", "unknown model 'schnet' in 'schnet'; choose from cm, slatm, fchl19, acn"),
        ("acn:radius", "model parameter 'radius' in 'acn:radius' is not of the form key=value"),
        ("acn:=3", "is not of the form key=value"),
    ],
)
def test_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_model_spec(spec)


def test_make_model_sets_parameters_and_overrides_win():
    model = make_model("acn:radius=4,max_epochs=7", max_epochs=3)
    assert isinstance(model, ACNRegressor)
    assert model.radius == 4 and model.max_epochs == 3


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match=r"model 'acn' has no parameter\(s\) \['radiuss'\]"):
        make_model("acn:radiuss=4")


def test_every_name_builds_a_fresh_estimator():
    for name in MODEL_NAMES:
        a, b = make_model(name), make_model(name)
        assert a is not b
        assert hasattr(a, "fit") and hasattr(a, "predict")


def test_set_elements_reaches_every_step_but_keeps_explicit_choices():
    from acn_sklearn.registry import CATALOGUE, set_elements

    for name in MODEL_NAMES:
        if CATALOGUE[name].kind == "exact":  # computed from the geometry: nothing to declare
            continue
        model = set_elements(make_model(name), [1, 6, 7, 8, 9])
        declared = {k: v for k, v in model.get_params().items() if k.endswith("elements")}
        assert declared and all(v == (1, 6, 7, 8, 9) for v in declared.values()), name
    explicit = set_elements(make_model("acn", elements=(1, 6)), [1, 6, 7, 8, 9])
    assert explicit.elements == (1, 6)


def test_a_new_catalogue_entry_is_all_a_model_needs(monkeypatch, qm9_subset):
    """Adding a model is one entry: specs, search spaces, tuning direction and cells read it."""
    from optuna.distributions import FloatDistribution

    from acn_sklearn.registry import CATALOGUE, ModelEntry
    from acn_sklearn.study.learning_curve import run_cells
    from acn_sklearn.tuning import search_space, study_direction

    entry = ModelEntry(
        name="cm_gaussian",
        label="CM (Gaussian)",
        factory="acn_sklearn.pipelines.make_cm_krr",
        kind="kernel",
        search_space={"krr__sigma": FloatDistribution(1.0, 1e4, log=True)},
    )
    monkeypatch.setitem(CATALOGUE, entry.name, entry)
    model = make_model("cm_gaussian:krr__kernel=gaussian,krr__sigma=300.0")
    assert model.get_params()["krr__kernel"] == "gaussian"
    assert set(search_space("cm_gaussian")) == {"krr__sigma"}
    assert study_direction("cm_gaussian") == "maximize"
    X, y = qm9_subset
    (cell,) = run_cells(["cm_gaussian:krr__kernel=gaussian"], [50], X, y, n_test=100)
    assert np.isfinite(cell.mae)


def test_every_entry_builds_its_kind_and_searches_its_own_parameters():
    from acn_sklearn.registry import CATALOGUE

    for name, entry in CATALOGUE.items():
        model = entry.make()
        assert entry.name == name
        kind = "network" if isinstance(model, ACNRegressor | ACNAtomRegressor) else "kernel"
        assert entry.kind == ("exact" if isinstance(model, RotationalConstants) else kind), name
        atomic = isinstance(model, AtomKernelRidge | ACNAtomRegressor)
        assert entry.targets == ("atomic" if atomic else "molecular"), name
        assert set(entry.search_space) <= set(model.get_params()), name


def test_every_published_configuration_is_a_catalogue_model():
    from acn_sklearn.study.paper import PAPER_TABLE_1

    for spec in PAPER_TABLE_1:
        assert parse_model_spec(spec)[0] in MODEL_NAMES, spec


@pytest.mark.parametrize(
    ("spec", "n_train", "published"),
    [
        # The paper's Table 1 as printed (its ACN column divided by 100).
        ("acn", 10000, 1.31),  # the default radius is the paper's 3
        ("acn:radius=3.0", 1000, 47.81),
        ("acn:radius=4", 10000, 7.53),
        ("ACN:radius=5", 100, 159.57),
        ("cm", 1000, 50.944),
        ("slatm", 10000, 1.28),
        ("acn:radius=4,lr=1e-3", 10000, None),  # not a published configuration
        ("acn:pooling=power", 10000, None),
        ("fchl19", 10000, None),  # not in the paper
        ("cm", 5000, None),
    ],
)
def test_paper_values_match_published_configurations_only(spec, n_train, published):
    from acn_sklearn.study.paper import paper_value

    assert paper_value(spec, n_train) == published


def test_set_target_names_qm9_targets_to_models_that_read_them():
    from acn_sklearn.registry import set_target

    assert set_target(make_model("acn"), "mu").target == "mu"
    assert set_target(make_model("acn"), "my_energy").target is None  # no known kind
    assert set_target(make_model("acn", target="gap"), "mu").target == "gap"  # explicit wins
    assert set_target(make_model("slatm"), "mu").target == "mu"  # the baseline's kind
    plain = KernelRidgeRegressor()  # nothing reads a target
    before = repr(plain.get_params())
    assert repr(set_target(plain, "mu").get_params()) == before
