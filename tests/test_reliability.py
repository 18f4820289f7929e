"""Every public estimator answers bad input with a clear error, never a deep crash.

One table of estimators, one table of bad inputs: each pair must raise a
ValueError whose message names the problem (and the molecule, where there is one).
Also the sklearn API contract: clone, get/set_params, pickling, NotFittedError,
fitted attributes only after fit.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from acn_sklearn import (
    FCHL19,
    SLATM,
    ACNRegressor,
    CoulombMatrix,
    KernelRidgeRegressor,
    make_cm_krr,
    make_fchl19_krr,
    make_slatm_krr,
)

TINY_ACN = dict(
    max_epochs=2, n_clouds=1, embedding_dim=8, atom_dim=16, hidden_sizes=(8, 8), random_state=0
)

REGRESSORS = {
    "cm": make_cm_krr,
    "slatm": make_slatm_krr,
    "fchl19": make_fchl19_krr,
    "acn": lambda: ACNRegressor(**TINY_ACN),
}
TRANSFORMERS = {"CoulombMatrix": CoulombMatrix, "SLATM": SLATM, "FCHL19": FCHL19}
ALL = REGRESSORS | TRANSFORMERS


@pytest.fixture(scope="module")
def data(qm9_subset):
    """Training molecules without fluorine, and the rest."""
    X, y = qm9_subset
    has_f = (X[:, :, 0] == 9).any(axis=1)
    train = np.flatnonzero(~has_f)[:60]
    return X[train], y[train], X[has_f][:3], X[~has_f][60:70]


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _, _ = data
    models = {}
    for name, make in ALL.items():
        model = make()
        models[name] = model.fit(X, y) if name in REGRESSORS else model.fit(X)
    return models


def apply(name, model, X):
    return model.predict(X) if name in REGRESSORS else model.transform(X)


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
    _, _, _, X_new = data
    make_bad, message = BAD_MOLECULES[bad]
    with pytest.raises(ValueError, match=message):
        apply(name, fitted[name], make_bad(X_new))


@pytest.mark.parametrize("bad", ["nan coordinates", "overlapping atoms", "no molecules"])
@pytest.mark.parametrize("name", REGRESSORS)
def test_bad_molecules_in_fit(name, bad, data):
    X, y, _, _ = data
    make_bad, message = BAD_MOLECULES[bad]
    X_bad = make_bad(X)
    with pytest.raises(ValueError, match=message):
        REGRESSORS[name]().fit(X_bad, y[: len(X_bad)])


@pytest.mark.parametrize("name", ALL)
def test_element_unseen_in_fit_is_refused_by_name(name, fitted, data):
    _, _, with_fluorine, _ = data
    with pytest.raises(ValueError, match=r"molecule 0: .*Z=9"):
        apply(name, fitted[name], with_fluorine)


@pytest.mark.parametrize("name", REGRESSORS)
def test_declared_elements_let_a_model_predict_unseen_ones(name, data):
    X, y, with_fluorine, _ = data
    model = REGRESSORS[name]()
    key = next(k for k in model.get_params() if k.split("__")[-1] == "elements")
    model.set_params(**{key: (1, 6, 7, 8, 9)}).fit(X, y)
    assert np.all(np.isfinite(model.predict(with_fluorine)))


@pytest.mark.parametrize("name", REGRESSORS)
def test_y_of_the_wrong_length_or_with_nan(name, data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples|y must have|samples"):
        REGRESSORS[name]().fit(X, y[:-1])
    y_nan = y.copy()
    y_nan[5] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        REGRESSORS[name]().fit(X, y_nan)


def test_molecule_larger_than_any_in_fit_is_predicted_despite_a_fitted_size(data):
    """As by a Coulomb matrix of the larger size (the size is in atoms, the training
    domain in heavy atoms: these molecules are within it)."""
    X, y, _, X_new = data
    small = X[(X[:, :, 0] > 0).sum(axis=1) <= 15]
    model = make_cm_krr(cm__size=None).fit(small, y[: len(small)])
    big = X_new[(X_new[:, :, 0] > 0).sum(axis=1) > 15]
    wide = make_cm_krr(cm__size=X.shape[1]).fit(small, y[: len(small)])
    np.testing.assert_allclose(model.predict(big), wide.predict(big), rtol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_not_fitted_error(name, data):
    _, _, _, X_new = data
    with pytest.raises(NotFittedError):
        apply(name, ALL[name](), X_new)


@pytest.mark.parametrize("name", ALL)
def test_clone_and_params_round_trip(name):
    model = ALL[name]()
    params = model.get_params(deep=False)
    twin = clone(model)
    assert twin is not model
    assert set(twin.get_params(deep=False)) == set(params)
    twin.set_params(**params)
    for key, value in params.items():
        assert twin.get_params(deep=False)[key] is value or repr(twin.get_params()[key]) == repr(
            value
        )


@pytest.mark.parametrize("name", ALL)
def test_fitted_attributes_exist_only_after_fit(name, fitted):
    fresh = ALL[name]()
    learned = [a for a in vars(fitted[name]) if a.endswith("_") and not a.startswith("_")]
    if name in REGRESSORS and hasattr(fitted[name], "steps"):
        learned = [
            a
            for _, step in fitted[name].steps
            for a in vars(step)
            if a.endswith("_") and not a.startswith("_")
        ]
        fresh_attrs = [a for _, step in fresh.steps for a in vars(step)]
    else:
        fresh_attrs = list(vars(fresh))
    # skorch itself creates these three on construction (its documented design)
    skorch_own = {"history_", "initialized_", "virtual_params_"}
    assert learned, "fit must learn something"
    assert not (set(learned) & set(fresh_attrs)) - skorch_own


@pytest.mark.parametrize("name", ALL)
def test_pickle_round_trip_gives_identical_output(name, fitted, data):
    _, _, _, X_new = data
    twin = pickle.loads(pickle.dumps(fitted[name]))
    np.testing.assert_array_equal(apply(name, twin, X_new), apply(name, fitted[name], X_new))


def test_interrupted_acn_fit_keeps_the_best_weights(data):
    import copy

    from skorch.callbacks import Callback

    X, y, _, X_new = data

    class RecordThenInterrupt(Callback):
        """Keep each epoch's weights; press Ctrl-C after the first training step of epoch 6."""

        def initialize(self):
            self.weights = []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.weights.append(copy.deepcopy(net.module_.state_dict()))

        def on_batch_end(self, net, training=False, **kwargs):
            if training and len(net.history) == 6:
                raise KeyboardInterrupt

    recorder = RecordThenInterrupt()
    model = ACNRegressor(**(TINY_ACN | {"max_epochs": 50}), callbacks=[("interrupt", recorder)])
    model.fit(X, y)
    assert len(recorder.weights) == 5
    best = int(np.argmin(model.history[:5, "valid_mae"]))
    for key, value in model.module_.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), recorder.weights[best][key].numpy(), key)
    assert np.all(np.isfinite(model.predict(X_new)))


# sklearn's common checks apply to the regressor on feature vectors; the molecule
# transformers and ACN take 3-D molecule arrays, which those checks cannot generate.
@parametrize_with_checks(
    [
        KernelRidgeRegressor(kernel="gaussian", sigma=3.0, alpha=1e-6),
        KernelRidgeRegressor(kernel="laplacian", sigma=3.0, alpha=1e-6),
    ]
)
def test_sklearn_common_checks(estimator, check):
    check(estimator)
