"""What every model of the catalogue, and every representation, does the same way.

One table of estimators (every catalogue entry, small, and the three molecule
transformers) and one table of bad inputs: each pair must raise a ValueError whose
message names the problem and the molecule. Also the scikit-learn API contract:
clone, get/set_params, pickling, NotFittedError, fitted attributes only after fit.

scikit-learn's own estimator checks generate feature matrices, which only
:class:`~acn_sklearn.KernelRidgeRegressor` takes; the molecule estimators take 3-D
molecule arrays (``three_d_array`` in their tags), so the checks below are their
common checks. Documented exceptions, each for a reason of its own, are in
:data:`EXCEPTIONS`.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from acn_sklearn import FCHL19, SLATM, CoulombMatrix, KernelRidgeRegressor
from acn_sklearn.registry import CATALOGUE, model_entry

TINY_NETWORK = dict(
    max_epochs=2, n_clouds=1, embedding_dim=8, atom_dim=16, hidden_sizes=(8, 8), random_state=0
)
#: Small settings of the catalogue entries that need them to fit in a test.
SMALL = {
    "acn": TINY_NETWORK,
    "acn_atom": TINY_NETWORK,
    "cm_nystroem": {"krr__n_landmarks": 30},
    "slatm_nystroem": {"krr__n_landmarks": 30},
    "rotational": {"target": "A"},
}
MODELS = list(CATALOGUE)
TRANSFORMERS = {"CoulombMatrix": CoulombMatrix, "SLATM": SLATM, "FCHL19": FCHL19}
ALL = MODELS + list(TRANSFORMERS)

#: (estimator, check) pairs that do not apply, and why.
EXCEPTIONS = {
    ("rotational", "unseen element"): "exact physics: any element with a mass is computed",
    ("rotational", "declared elements"): "exact physics: it has no elements to declare",
    ("rotational", "fitted attributes"): "exact physics: fit validates, it learns nothing",
}


def make(name):
    if name in TRANSFORMERS:
        return TRANSFORMERS[name]()
    return CATALOGUE[name].make(**SMALL.get(name, {}))


def skip_exception(name, check):
    reason = EXCEPTIONS.get((name, check))
    if reason is not None:
        pytest.skip(reason)


def targets(name, X, atoms):
    """The target a model of this name fits: the atomization energy, the atoms'
    synthetic charges, or the rotational constant A."""
    if name in TRANSFORMERS:
        return None
    entry = model_entry(name)
    if entry.targets == "atomic":
        real = X[:, :, 0] > 0
        q = np.where(real, np.where(X[:, :, 0] == 1, 0.1, -0.2), 0.0)
        return np.where(real, q - q.sum(1, keepdims=True) / real.sum(1, keepdims=True), 0.0)
    key = "A" if entry.kind == "exact" else "U_atomization"
    return np.array([a.info[key] for a in atoms])


@pytest.fixture(scope="module")
def data(qm9_subset, qm9_subset_atoms):
    """Training molecules without fluorine (and their atoms), molecules with, the rest."""
    X, _ = qm9_subset
    has_f = (X[:, :, 0] == 9).any(axis=1)
    train = np.flatnonzero(~has_f)[:60]
    atoms = [qm9_subset_atoms[i] for i in train]
    return X[train], atoms, X[has_f][:3], X[~has_f][60:70]


def fit(name, model, data):
    X, atoms, _, _ = data
    return model.fit(X) if name in TRANSFORMERS else model.fit(X, targets(name, X, atoms))


def apply(name, model, X):
    return model.transform(X) if name in TRANSFORMERS else model.predict(X)


@pytest.fixture(scope="module")
def fitted(data):
    return {name: fit(name, make(name), data) for name in ALL}


def with_edit(X, i, j, column, value):
    X = X.copy()
    X[i, j, column] = value
    return X


BAD_MOLECULES = {
    "nan coordinates": (lambda X: with_edit(X, 2, 1, 2, np.nan), r"molecule 2: coordinates"),
    "inf coordinates": (lambda X: with_edit(X, 1, 0, 3, np.inf), r"molecule 1: coordinates"),
    "unknown element": (lambda X: with_edit(X, 0, 0, 0, 200), r"molecule 0: .*not a known element"),
    "fractional Z": (lambda X: with_edit(X, 3, 0, 0, 6.5), r"molecule 3: .*not an integer"),
    "overlapping atoms": (
        lambda X: with_edit(
            with_edit(with_edit(X, 1, 1, 1, X[1, 0, 1]), 1, 1, 2, X[1, 0, 2]), 1, 1, 3, X[1, 0, 3]
        ),
        r"molecule 1: atoms 0 and 1 are 0 A apart",
    ),
    "empty molecule": (
        lambda X: with_edit(X, 4, slice(None), slice(None), 0),
        r"molecule 4: empty molecule",
    ),
    "2-D array": (lambda X: X[:, :, 0], r"X must have shape \(n_molecules, max_atoms, 4\)"),
    "strings": (lambda X: np.full((3, 5, 4), "C"), r"could not convert|X must|molecule 0"),
    "no molecules": (lambda X: X[:0], r"X holds no molecules"),
}


@pytest.mark.parametrize("bad", BAD_MOLECULES)
@pytest.mark.parametrize("name", ALL)
def test_bad_molecules_in_predict_or_transform(name, bad, fitted, data):
    make_bad, message = BAD_MOLECULES[bad]
    with pytest.raises(ValueError, match=message):
        apply(name, fitted[name], make_bad(data[3]))


@pytest.mark.parametrize("bad", ["nan coordinates", "overlapping atoms", "no molecules"])
@pytest.mark.parametrize("name", MODELS)
def test_bad_molecules_in_fit(name, bad, data):
    X, atoms, _, _ = data
    make_bad, message = BAD_MOLECULES[bad]
    X_bad = make_bad(X)
    y = targets(name, X, atoms)
    with pytest.raises(ValueError, match=message):
        make(name).fit(X_bad, y[: len(X_bad)])


@pytest.mark.parametrize("name", ALL)
def test_element_unseen_in_fit_is_refused_by_name(name, fitted, data):
    skip_exception(name, "unseen element")
    with pytest.raises(ValueError, match=r"molecule 0: .*Z=9"):
        apply(name, fitted[name], data[2])


@pytest.mark.parametrize("name", MODELS)
def test_declared_elements_let_a_model_predict_unseen_ones(name, data):
    skip_exception(name, "declared elements")
    model = make(name)
    key = next(k for k in model.get_params() if k.split("__")[-1] == "elements")
    fitted = fit(name, model.set_params(**{key: (1, 6, 7, 8, 9)}), data)
    assert np.all(np.isfinite(fitted.predict(data[2])))


@pytest.mark.parametrize(
    "name", [name for name in MODELS if model_entry(name).targets == "molecular"]
)
def test_y_of_the_wrong_length_or_with_nan(name, data):
    X, atoms, _, _ = data
    y = targets(name, X, atoms)
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples|y must have|samples"):
        make(name).fit(X, y[:-1])
    y_nan = y.copy()
    y_nan[5] = np.nan
    with pytest.raises(ValueError, match=r"molecule 5: y is NaN"):
        make(name).fit(X, y_nan)


@pytest.mark.parametrize("name", ALL)
def test_not_fitted_error(name, data):
    with pytest.raises(NotFittedError):
        apply(name, make(name), data[3])


@pytest.mark.parametrize("name", ALL)
def test_clone_and_params_round_trip(name):
    model = make(name)
    params = model.get_params(deep=False)
    twin = clone(model)
    assert twin is not model
    assert set(twin.get_params(deep=False)) == set(params)
    twin.set_params(**params)
    for key, value in params.items():
        assert twin.get_params(deep=False)[key] is value or repr(twin.get_params()[key]) == repr(
            value
        )


def _learned(model):
    """Attributes ending in an underscore, of the model or, for a pipeline, of its steps."""
    owners = [step for _, step in model.steps] if hasattr(model, "steps") else [model]
    return {a for owner in owners for a in vars(owner) if a.endswith("_") and a[0] != "_"}


@pytest.mark.parametrize("name", ALL)
def test_fitted_attributes_exist_only_after_fit(name, fitted):
    skip_exception(name, "fitted attributes")
    # skorch itself creates these three on construction (its documented design)
    skorch_own = {"history_", "initialized_", "virtual_params_"}
    learned = _learned(fitted[name])
    assert learned, "fit must learn something"
    assert not (learned & _learned(make(name))) - skorch_own


@pytest.mark.parametrize("name", ALL)
def test_pickle_round_trip_gives_identical_output(name, fitted, data):
    twin = pickle.loads(pickle.dumps(fitted[name]))
    np.testing.assert_array_equal(apply(name, twin, data[3]), apply(name, fitted[name], data[3]))


def test_every_catalogue_entry_is_in_the_tables():
    """A new catalogue model gets every check above without editing this file."""
    assert set(MODELS) == set(CATALOGUE)
    assert {name for name, _ in EXCEPTIONS} <= set(ALL)


@parametrize_with_checks(
    [
        KernelRidgeRegressor(),
        KernelRidgeRegressor(kernel="laplacian", alpha=1e-3),
        KernelRidgeRegressor(sigma="auto", alpha="auto"),
        KernelRidgeRegressor(kernel="laplacian", sigma=[0.5, 2.0, 8.0], alpha=[1e-3, 1e-1]),
    ]
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
