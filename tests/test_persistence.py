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


@pytest.mark.parametrize("compact", [False, True], ids=["full", "compact"])
def test_a_kernel_model_loads_and_predicts_without_importing_torch(
    fitted, qm9_subset, tmp_path, compact
):
    """Importing torch takes seconds; a kernel model's predict (Python or CLI) needs none."""
    import subprocess
    import sys

    from ase.io import write

    from acn_sklearn.molecules import to_atoms

    model, X_test = fitted
    path, new = tmp_path / "m", tmp_path / "new.xyz"
    training = {"molecules": qm9_subset[0][:200]} if compact else {}
    save_model(SavedModel(model, "U_atomization", "kcal/mol"), path, **training)
    write(new, to_atoms(X_test[:3]), format="xyz")
    code = (
        "import sys\n"
        "from acn_sklearn.cli import main\n"
        "from acn_sklearn.molecules import read_xyz\n"
        "from acn_sklearn.persistence import load_model\n"
        f"load_model({str(path)!r}).estimator.predict(read_xyz({str(new)!r}))\n"
        f"assert main(['predict', {str(path)!r}, {str(new)!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
