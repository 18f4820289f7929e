"""Saved models: round trip, and refusal of damaged or incompatible files."""

import numpy as np
import pytest

from acn_sklearn import persistence
from acn_sklearn.persistence import SavedModel, load_model, save_model
from acn_sklearn.registry import make_model


@pytest.fixture(scope="module")
def fitted(qm9_subset):
    X, y = qm9_subset
    return make_model("cm").fit(X[:200], y[:200]), X[200:]


@pytest.fixture
def saved_file(fitted, tmp_path):
    model, _ = fitted
    info = {"n_train": 200}
    return save_model(SavedModel(model, "U_atomization", "kcal/mol", info=info), tmp_path / "m")


def test_round_trip_predicts_identically(fitted, saved_file):
    model, X_test = fitted
    loaded = load_model(saved_file)
    assert (loaded.target, loaded.unit, loaded.info) == (
        "U_atomization",
        "kcal/mol",
        {"n_train": 200},
    )
    assert loaded.version == persistence.__version__
    np.testing.assert_array_equal(loaded.estimator.predict(X_test), model.predict(X_test))


def flip_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) * 2 // 3] ^= 0xFF
    path.write_bytes(bytes(raw))


def truncate(path):
    path.write_bytes(path.read_bytes()[:-100])


@pytest.mark.parametrize("damage", [flip_byte, truncate])
def test_damaged_file_is_refused(saved_file, damage):
    damage(saved_file)
    with pytest.raises(ValueError, match="is corrupted or truncated"):
        load_model(saved_file)


def test_other_files_are_refused(tmp_path):
    (tmp_path / "x").write_bytes(b"\x80\x04 some pickle")
    with pytest.raises(ValueError, match="is not an acn-sklearn model file"):
        load_model(tmp_path / "x")


@pytest.mark.parametrize(
    ("saved", "running", "ok"),
    [
        ("0.1.0", "0.1.3", True),
        ("0.1.0.dev0", "0.1.0", True),
        ("0.1.0", "0.2.0", False),
        ("1.2.0", "1.5.1", True),
        ("1.2.0", "2.0.0", False),
    ],
)
def test_version_compatibility(saved, running, ok):
    assert persistence._compatible(saved, running) is ok


def test_incompatible_version_is_refused(fitted, tmp_path):
    model, _ = fitted
    path = save_model(SavedModel(model, "gap", "hartree", version="0.9.0"), tmp_path / "old")
    with pytest.raises(ValueError, match=r"saved by acn-sklearn 0.9.0 .* Install acn-sklearn=="):
        load_model(path)


@pytest.fixture(scope="module", params=["cm", "slatm", "fchl19"])
def kernel_model(request, qm9_subset):
    X, y = qm9_subset
    return make_model(request.param).fit(X[:120], y[:120]), X[:120], X[300:330]


def test_kernel_model_saved_with_its_molecules_predicts_the_same(kernel_model, tmp_path):
    model, X_train, X_test = kernel_model
    saved = SavedModel(model, "U_atomization", "kcal/mol")
    full = save_model(saved, tmp_path / "full")
    compact = save_model(saved, tmp_path / "compact", molecules=X_train)
    assert compact.stat().st_size < full.stat().st_size / 2
    loaded = load_model(compact).estimator
    assert isinstance(loaded[-1], persistence.CompactKernelRidge)
    assert not hasattr(loaded[-1].regressor, "X_fit_")
    # nor the N x N factor of the standard deviation: it is refused, not wrong
    assert not hasattr(loaded[-1].regressor, "L_inv_") and hasattr(model[-1], "L_inv_")
    with pytest.raises(ValueError, match="saved compactly"):
        loaded.predict(X_test, return_std=True)
    assert loaded[-1].regressor.sigma_ == model[-1].sigma_
    loaded[-1].block_size = 50  # three blocks, the last one partial
    # block sums change the order of additions: 1e-8 relative (measured 2e-10)
    np.testing.assert_allclose(loaded.predict(X_test), model.predict(X_test), rtol=1e-8)
    # the fitted model in memory keeps its representations
    assert model[-1].X_fit_.shape[0] == 120


@pytest.mark.parametrize("n_targets", [1, 2])
def test_compact_plain_pipeline_adds_its_baseline_once(qm9_subset, tmp_path, n_targets):
    """A plain pipeline (no element baseline to absorb a constant) whose regressor subtracts
    the mean of y (about -1,700 kcal/mol) predicts from its compact file, in three blocks,
    what the full model predicts: the mean is added once, not once per block."""
    from sklearn.pipeline import Pipeline

    from acn_sklearn import CoulombMatrix, KernelRidgeRegressor

    X, y = qm9_subset
    y = y if n_targets == 1 else np.column_stack([y, -0.5 * y + 10.0])
    regressor = KernelRidgeRegressor(kernel="laplacian", sigma=4000.0, alpha=1e-8)
    model = Pipeline([("cm", CoulombMatrix(size=29)), ("krr", regressor)]).fit(X[:120], y[:120])
    assert np.all(np.abs(model[-1].y_baseline_) > 100)  # what a block-wise sum would repeat
    path = save_model(SavedModel(model, "U", "kcal/mol"), tmp_path / "m", molecules=X[:120])
    loaded = load_model(path).estimator
    loaded[-1].block_size = 50  # three blocks, the last one partial
    expected = model.predict(X[300:330])
    np.testing.assert_allclose(loaded.predict(X[300:330]), expected, rtol=1e-8)


def test_molecules_that_are_not_the_training_ones_are_refused(kernel_model, tmp_path):
    model, X_train, _ = kernel_model
    saved = SavedModel(model, "U_atomization", "kcal/mol")
    with pytest.raises(ValueError, match=r"training molecule \d+ is not the one"):
        save_model(saved, tmp_path / "m", molecules=X_train[::-1])
    with pytest.raises(ValueError, match="119 training molecules given for a model fitted on 120"):
        save_model(saved, tmp_path / "m", molecules=X_train[:-1])


def test_molecules_for_a_model_without_kernel_are_refused(qm9_subset, tmp_path):
    X, y = qm9_subset
    model = make_model("cm_nystroem:krr__n_landmarks=20").fit(X[:60], y[:60])
    with pytest.raises(ValueError, match="only a kernel ridge pipeline"):
        save_model(SavedModel(model, "U", "kcal/mol"), tmp_path / "m", molecules=X[:60])


def test_compact_model_is_not_refitted(kernel_model, tmp_path):
    model, X_train, _ = kernel_model
    path = save_model(SavedModel(model, "U", "kcal/mol"), tmp_path / "m", molecules=X_train)
    with pytest.raises(TypeError, match="only predicts"):
        load_model(path).estimator.fit(X_train, np.zeros(len(X_train)))
