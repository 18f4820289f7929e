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
