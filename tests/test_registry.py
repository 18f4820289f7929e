"""Model specs: names and parameters from the command line."""

import pytest

from acn_sklearn import ACNRegressor
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
    from acn_sklearn.registry import set_elements

    for name in MODEL_NAMES:
        model = set_elements(make_model(name), [1, 6, 7, 8, 9])
        declared = {k: v for k, v in model.get_params().items() if k.endswith("elements")}
        assert declared and all(v == (1, 6, 7, 8, 9) for v in declared.values()), name
    explicit = set_elements(make_model("acn", elements=(1, 6)), [1, 6, 7, 8, 9])
    assert explicit.elements == (1, 6)
