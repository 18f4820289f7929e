"""Saved models: round trips as data, and refusal of damaged, tampered, pickled or
incompatible files."""

import numpy as np
import pytest

from acn_sklearn import persistence
from acn_sklearn.kernel_ridge import CompactKernelRidge
from acn_sklearn.persistence import SavedModel, load_model, save_model
from acn_sklearn.registry import MODEL_NAMES, make_model


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
    assert isinstance(loaded[-1], CompactKernelRidge)
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


# -- the data format: every catalogue model, nothing but data ------------------------------

TINY_NETWORK = dict(
    embedding_dim=4, cloud_channels=4, atom_dim=16, hidden_sizes=(8, 8), n_radial=4, max_epochs=2
)


def _fitted_entry(name, X, y, charges):
    from acn_sklearn.registry import model_entry

    entry = model_entry(name)
    params = {"network": TINY_NETWORK, "exact": {"target": "A"}}.get(entry.kind, {})
    if name.endswith("nystroem"):
        params = {"krr__n_landmarks": 40}
    model = entry.make(**params)
    return model.fit(X[:100], charges[:100] if entry.targets == "atomic" else y[:100])


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_catalogue_model_round_trips_bit_for_bit(name, qm9_subset, tmp_path):
    """Predictions and standard deviations of the loaded model are those of the fitted one,
    exactly: the fitted state travels as arrays, nothing is refitted or approximated."""
    X, y = qm9_subset
    charges = np.where(X[:, :, 0] > 0, 0.1 * (X[:, :, 0] == 1) - 0.05, 0.0)
    charges -= charges.sum(1, keepdims=True) / (X[:, :, 0] > 0).sum(1, keepdims=True)
    charges = np.where(X[:, :, 0] > 0, charges, 0.0)
    model = _fitted_entry(name, X, y, charges)
    loaded = load_model(save_model(SavedModel(model, "t", "u"), tmp_path / "m")).estimator
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X[300:]), model.predict(X[300:]))
    if name != "rotational":
        _, std = model.predict(X[300:], return_std=True)
        np.testing.assert_array_equal(loaded.predict(X[300:], return_std=True)[1], std)


def test_a_network_round_trips_with_its_history_and_weight_average(qm9_subset, tmp_path):
    from acn_sklearn import ACNRegressor, DeepEnsembleRegressor

    X, y = qm9_subset
    network = ACNRegressor(ema_decay=0.9, random_state=0, **TINY_NETWORK)
    ensemble = DeepEnsembleRegressor(network, n_members=2, random_state=1).fit(X[:80], y[:80])
    loaded = load_model(save_model(SavedModel(ensemble, "t", "u"), tmp_path / "m")).estimator
    np.testing.assert_array_equal(loaded.predict(X[300:]), ensemble.predict(X[300:]))
    member, original = loaded.estimators_[1], ensemble.estimators_[1]
    assert member.history[:, "valid_mae"] == original.history[:, "valid_mae"]
    assert member.module_.updates == original.module_.updates > 0
    assert member.get_params()["ema_decay"] == 0.9 and loaded.estimator.ema_decay == 0.9


def _rewrite(path, edit):
    """Change a saved file's payload with ``edit(files) -> files`` (a dict name -> bytes)
    and fix its checksum: the file is then intact, only its content is not ours."""
    import hashlib
    import io
    import json
    import zipfile

    first, _, payload = path.read_bytes().partition(b"\n")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in edit(files).items():
            archive.writestr(name, data)
    header = json.loads(first)
    header["sha256"] = hashlib.sha256(buffer.getvalue()).hexdigest()
    path.write_bytes(json.dumps(header).encode() + b"\n" + buffer.getvalue())


def _name_a_class(files, name):
    text = files["model.json"].decode()
    files["model.json"] = text.replace(
        "acn_sklearn.representations._coulomb.CoulombMatrix", name, 1
    ).encode()
    return files


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_a_file_naming_another_class_is_refused_before_anything_runs(saved_file, name, monkeypatch):
    import importlib

    imported = []
    real = importlib.import_module
    monkeypatch.setattr(persistence, "import_module", lambda m: imported.append(m) or real(m))
    _rewrite(saved_file, lambda files: _name_a_class(files, name))
    with pytest.raises(ValueError, match=f"holds unexpected content \\(class '{name}'\\)"):
        load_model(saved_file)
    assert not any(m in ("os", "builtins", "subprocess") for m in imported)


def test_a_pickled_array_is_refused(saved_file):
    import io

    def pickled(files):
        buffer = io.BytesIO()
        np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        files["arrays/0.npy"] = buffer.getvalue()
        return files

    _rewrite(saved_file, pickled)
    with pytest.raises(ValueError, match=r"holds unexpected content \(array 0 is not plain data"):
        load_model(saved_file)


def test_an_extra_file_in_the_payload_is_refused(saved_file):
    _rewrite(saved_file, lambda files: files | {"payload.pkl": b"\x80\x04."})
    with pytest.raises(ValueError, match="holds unexpected content"):
        load_model(saved_file)


def test_a_model_with_a_step_of_another_library_is_not_saved_as_data(qm9_subset, tmp_path):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from acn_sklearn import CoulombMatrix, KernelRidgeRegressor

    X, y = qm9_subset
    model = make_pipeline(CoulombMatrix(), StandardScaler(), KernelRidgeRegressor())
    model.fit(X[:50], y[:50])
    with pytest.raises(ValueError, match="StandardScaler cannot be saved as data"):
        save_model(SavedModel(model, "t", "u"), tmp_path / "m")
    assert not (tmp_path / "m").exists() and not (tmp_path / "m.tmp").exists()


def _old_format_file(model, path):
    """A model file as acn-sklearn wrote it before the data format: a joblib pickle."""
    import hashlib
    import io
    import json

    import joblib

    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    payload = buffer.getvalue()
    header = {
        "magic": "acn-sklearn model",
        "format": 1,
        "version": persistence.__version__,
        "target": "t",
        "unit": "u",
        "info": {},
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    return path


def test_an_old_pickle_file_loads_only_when_trusted(fitted, tmp_path):
    model, X_test = fitted
    path = _old_format_file(model, tmp_path / "old.model")
    with pytest.raises(ValueError, match=r"older pickle format.*trusted=True"):
        load_model(path)
    loaded = load_model(path, trusted=True).estimator
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


@pytest.mark.slow
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
        "from acn_sklearn.datasets import read_xyz\n"
        "from acn_sklearn.persistence import load_model\n"
        f"load_model({str(path)!r}).estimator.predict(read_xyz({str(new)!r}))\n"
        f"assert main(['predict', {str(path)!r}, {str(new)!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]


def test_a_compact_model_keeps_its_representations_after_the_first_predict(
    kernel_model, tmp_path, monkeypatch
):
    """The first predict represents the training molecules; later ones in the process use
    them again (identical predictions), but neither a model file nor a pickle keeps them."""
    import pickle

    model, X_train, X_test = kernel_model
    path = save_model(SavedModel(model, "U", "kcal/mol"), tmp_path / "m", molecules=X_train)
    loaded = load_model(path).estimator
    loaded[-1].block_size = 50  # three blocks
    step = loaded[-1].representation[0]
    calls = []
    transform = type(step).transform
    monkeypatch.setattr(
        type(step), "transform", lambda s, X: calls.append(len(X)) or transform(s, X)
    )
    first = loaded.predict(X_test)
    training_calls = [n for n in calls if n != len(X_test)]
    assert sum(training_calls) == len(X_train)
    calls.clear()
    np.testing.assert_array_equal(loaded.predict(X_test), first)
    assert calls == [len(X_test)]  # the new molecules only
    assert "_kept" not in vars(pickle.loads(pickle.dumps(loaded[-1])))
    again = save_model(SavedModel(loaded, "U", "kcal/mol"), tmp_path / "again")
    assert abs(again.stat().st_size - path.stat().st_size) < 100  # block_size: 1024 -> 50
