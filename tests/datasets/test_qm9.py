"""load_qm9: facts about the data, subsets, targets and the cache."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

from acn_sklearn.datasets import _qm9, get_data_home, load_qm9
from acn_sklearn.molecules import check_molecules

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("qm9pack") is None, reason='needs pip install "acn-sklearn[qm9]"'
)

U_HYDROGEN, U_CARBON = -0.498857, -37.845355


@pytest.fixture(scope="session")
def data_home(qm9_data_home):
    return qm9_data_home


@pytest.fixture(scope="session")
def qm9(data_home):
    return load_qm9(target=None, data_home=data_home)


def test_all_molecules_in_file_order(qm9):
    assert qm9.data.shape == (130_831, 29, 4)
    assert qm9.target.shape == (130_831, 19)
    assert len(qm9.ids) == len(qm9.smiles) == 130_831
    assert np.all(np.diff(qm9.ids) > 0)
    assert qm9.ids[0] == 1 and qm9.smiles[0] == "C"
    assert "130,831" in qm9.DESCR


@pytest.mark.slow
def test_every_molecule_is_valid_and_elements_are_hcnof(qm9):
    check_molecules(qm9.data)
    assert set(np.unique(qm9.data[:, :, 0])) == {0, 1, 6, 7, 8, 9}


def test_methane_first(qm9):
    Z = qm9.data[0, :, 0]
    np.testing.assert_array_equal(Z[:5], [6, 1, 1, 1, 1])
    assert not Z[5:].any()
    np.testing.assert_allclose(qm9.data[0, 0, 1:], [-0.0126981359, 1.0858041578, 0.0080009958])
    np.testing.assert_allclose(qm9.mulliken_charges[0, :2], [-0.535689, 0.133921])


def test_methane_atomization_energy(qm9):
    names = qm9.target_names
    U = qm9.target[0, names.index("U")]
    expected = (U - 4 * U_HYDROGEN - U_CARBON) * 627.509474
    assert qm9.target[0, names.index("U_atomization")] == pytest.approx(expected, abs=1e-6)
    assert qm9.target_units["U_atomization"] == "kcal/mol"
    assert qm9.target_units["U"] == "hartree"


def test_atomization_energies_are_negative_and_sized_right(qm9):
    for name in ("U0_atomization", "U_atomization", "H_atomization", "G_atomization"):
        energy = qm9.target[:, qm9.target_names.index(name)]
        assert np.all(energy < 0), name
        assert -3000 < energy.min() < energy.max() < -100, name


def test_single_target_is_1d_and_list_is_multi_output(data_home, qm9):
    X, y = load_qm9(target="gap", return_X_y=True, data_home=data_home)
    assert X.shape == (130_831, 29, 4) and y.shape == (130_831,)
    np.testing.assert_array_equal(y, qm9.target[:, qm9.target_names.index("gap")])
    bunch = load_qm9(target=["homo", "U0_atomization"], data_home=data_home)
    assert bunch.target.shape == (130_831, 2)
    assert bunch.target_names == ["homo", "U0_atomization"]


def test_random_subset_is_reproducible_and_consistent(data_home, qm9):
    a = load_qm9(n_molecules=500, random_state=7, data_home=data_home)
    b = load_qm9(n_molecules=500, random_state=7, data_home=data_home)
    c = load_qm9(n_molecules=500, random_state=8, data_home=data_home)
    np.testing.assert_array_equal(a.ids, b.ids)
    assert not np.array_equal(a.ids, c.ids)
    assert len(set(a.ids)) == 500
    row_of_id = {qm9_id: row for row, qm9_id in enumerate(qm9.ids)}
    rows = [row_of_id[qm9_id] for qm9_id in a.ids]
    np.testing.assert_array_equal(a.data, qm9.data[rows])
    np.testing.assert_array_equal(a.smiles, qm9.smiles[rows])
    np.testing.assert_array_equal(
        a.target, qm9.target[rows, qm9.target_names.index("U_atomization")]
    )


def test_mulliken_charges_are_a_per_atom_target_aligned_with_x(data_home, qm9):
    X, y = load_qm9(
        target="mulliken_charges",
        n_molecules=300,
        random_state=0,
        return_X_y=True,
        data_home=data_home,
    )
    assert y.shape == (300, 29)
    real = X[:, :, 0] > 0
    assert not y[~real].any()
    # QM9's molecules are neutral: the charges of each sum to 0 (to QM9's 6 decimals).
    np.testing.assert_allclose(y.sum(axis=1), 0.0, atol=1e-4)
    # Hydrogens carry positive Mulliken charges in QM9's C-H, N-H and O-H bonds.
    assert (y[X[:, :, 0] == 1] > 0).mean() > 0.95
    bunch = load_qm9(target="mulliken_charges", data_home=data_home)
    np.testing.assert_array_equal(bunch.target, qm9.mulliken_charges)
    assert bunch.target_units == {"mulliken_charges": "e"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": ["gap", "mulliken_charges"]}, "must be asked for alone"),
        ({"target": "energy"}, r"unknown QM9 target\(s\) \['energy'\]"),
        ({"target": []}, "unknown QM9 target"),
        ({"n_molecules": 0}, "n_molecules must be in"),
        ({"n_molecules": 200_000}, "n_molecules must be in"),
    ],
)
def test_bad_arguments(data_home, qm9, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_qm9(data_home=data_home, **kwargs)


def test_missing_qm9pack_says_how_to_install(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "qm9pack" else real(name, *a)
    )
    with pytest.raises(ImportError, match=r'pip install "acn-sklearn\[qm9\]"'):
        load_qm9(data_home=tmp_path)


def test_data_home_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ACN_SKLEARN_DATA", str(tmp_path / "here"))
    assert get_data_home() == tmp_path / "here"
    assert get_data_home(tmp_path / "there") == tmp_path / "there"
    monkeypatch.delenv("ACN_SKLEARN_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_home() == tmp_path / "xdg" / "acn_sklearn"


@pytest.fixture
def counted_parser(monkeypatch, qm9):
    """Replace the CSV parser by the already parsed arrays, counting the calls."""
    parsed = {
        "X": qm9.data,
        "properties": qm9.target[:, : len(_qm9.QM9_PROPERTIES)],
        "mulliken_charges": qm9.mulliken_charges,
        "ids": qm9.ids,
        "smiles": qm9.smiles,
    }
    calls = []

    def parse(folder):
        calls.append(folder)
        return parsed

    monkeypatch.setattr(_qm9, "_parse_csvs", parse)
    return calls


def cache_file(home):
    (path,) = home.glob("qm9-v*.npz")
    return path


def corrupt_middle(path):
    raw = bytearray(path.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 64] = bytes(64)
    path.write_bytes(bytes(raw))


def truncate(path):
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])


def garbage(path):
    path.write_bytes(b"not a cache")


@pytest.mark.slow
@pytest.mark.parametrize("damage", [corrupt_middle, truncate, garbage])
def test_damaged_cache_is_detected_and_rebuilt(tmp_path, counted_parser, qm9, damage):
    load_qm9(data_home=tmp_path)
    assert len(counted_parser) == 1
    load_qm9(data_home=tmp_path)
    assert len(counted_parser) == 1, "an intact cache must be read, not rebuilt"
    damage(cache_file(tmp_path))
    X, y = load_qm9(data_home=tmp_path, return_X_y=True)
    assert len(counted_parser) == 2
    np.testing.assert_array_equal(X, qm9.data)
    np.testing.assert_array_equal(y, qm9.target[:, qm9.target_names.index("U_atomization")])
    load_qm9(data_home=tmp_path)
    assert len(counted_parser) == 2, "the rebuilt cache must be trusted again"


@pytest.mark.slow
def test_stale_cache_is_rebuilt(tmp_path, counted_parser, monkeypatch):
    load_qm9(data_home=tmp_path)
    monkeypatch.setattr(_qm9, "_source_key", lambda folder: "other source files")
    load_qm9(data_home=tmp_path)
    assert len(counted_parser) == 2


def test_cache_lands_in_data_home(data_home, qm9):
    assert cache_file(data_home).stat().st_size > 1_000_000


#: Free-atom energies (hartree) of QM9's atomref table (B3LYP/6-31G(2df,p)), typed
#: in from the QM9 paper's data, independently of the package's own table.
ATOMREF = {
    "U0": {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730},
    "U": {1: -0.498857, 6: -37.845355, 7: -54.582445, 8: -75.063162, 9: -99.717314},
    "H": {1: -0.497912, 6: -37.844411, 7: -54.581501, 8: -75.062219, 9: -99.716370},
    "G": {1: -0.510927, 6: -37.861317, 7: -54.598897, 8: -75.079532, 9: -99.733544},
}

#: QM9 id -> (SMILES, element counts): methane, water, CF4 (fluorine) and
#: 2,2,4,4-tetramethylpentane (C9H20, 29 atoms, the largest size in QM9).
HAND_MOLECULES = {
    1: ("C", {6: 1, 1: 4}),
    3: ("O", {8: 1, 1: 2}),
    184: ("FC(F)(F)F", {6: 1, 9: 4}),
    57518: ("CC(C)(C)CC(C)(C)C", {6: 9, 1: 20}),
}


def test_methane_raw_properties_are_the_published_record(qm9):
    # QM9 record dsgdb9nsd_000001 (methane), in QM9's own units and order.
    published = {
        "A": 157.7118,
        "B": 157.70997,
        "C": 157.70699,
        "mu": 0.0,
        "alpha": 13.21,
        "homo": -0.3877,
        "lumo": 0.1171,
        "gap": 0.5048,
        "r2": 35.3641,
        "zpve": 0.044749,
        "U0": -40.47893,
        "U": -40.476062,
        "H": -40.475117,
        "G": -40.498597,
        "Cv": 6.469,
    }
    assert qm9.ids[0] == 1
    for name, value in published.items():
        assert qm9.target[0, qm9.target_names.index(name)] == pytest.approx(value, abs=1e-9), name
    # Its atomization energy at 0 K, -396.0 kcal/mol, as quoted in the QM9 literature.
    U0_atomization = qm9.target[0, qm9.target_names.index("U0_atomization")]
    assert U0_atomization == pytest.approx(-396.0, abs=0.05)


@pytest.mark.parametrize("kind", ["U0", "U", "H", "G"])
def test_every_atomization_energy_matches_a_hand_computation(qm9, kind):
    row_of_id = {qm9_id: row for row, qm9_id in enumerate(qm9.ids)}
    for qm9_id, (smiles, counts) in HAND_MOLECULES.items():
        row = row_of_id[qm9_id]
        assert qm9.smiles[row] == smiles
        Z = qm9.data[row, :, 0]
        assert {int(z): int(np.sum(Z == z)) for z in np.unique(Z[Z > 0])} == counts
        energy = qm9.target[row, qm9.target_names.index(kind)]
        atoms = sum(n * ATOMREF[kind][z] for z, n in counts.items())
        expected = (energy - atoms) * 627.509474
        got = qm9.target[row, qm9.target_names.index(f"{kind}_atomization")]
        assert got == pytest.approx(expected, abs=1e-6), (kind, smiles)
        assert qm9.target_units[f"{kind}_atomization"] == "kcal/mol"


def test_the_largest_molecules_fill_every_row(qm9):
    counts = np.count_nonzero(qm9.data[:, :, 0], axis=1)
    assert counts.max() == 29
    largest = qm9.data[counts == 29]
    assert np.all(largest[:, -1, 0] > 0), "the 29th atom of a 29-atom molecule must be kept"
    # C9H20: the last row holds a hydrogen with real coordinates.
    row = list(qm9.ids).index(57518)
    assert qm9.data[row, 28, 0] == 1 and np.any(qm9.data[row, 28, 1:] != 0)
    assert qm9.mulliken_charges[row, 28] != 0


#: A child process: waits for the file "go", loads 50 random molecules, saves them.
LOAD_WHEN_TOLD = """
import os, sys, time
import numpy as np
from acn_sklearn.datasets import load_qm9
folder, name = sys.argv[1:]
while not os.path.exists(os.path.join(folder, "go")):
    time.sleep(0.005)
home = os.path.join(folder, "home")
X, y = load_qm9(n_molecules=50, random_state=0, return_X_y=True, data_home=home)
np.savez(os.path.join(folder, name), X=X, y=y)
"""


@pytest.mark.slow
def test_two_processes_loading_cold_get_the_same_data_and_a_valid_cache(tmp_path, qm9):
    """Both parse the CSVs and write the cache at about the same time (about 25 s)."""
    home = tmp_path / "home"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", LOAD_WHEN_TOLD, str(tmp_path), name], stderr=subprocess.PIPE
        )
        for name in ("a", "b")
    ]
    (tmp_path / "go").touch()
    try:
        for child in children:
            assert child.wait(timeout=300) == 0, child.stderr.read()
    finally:
        for child in children:
            child.kill()
    rows = np.random.RandomState(0).choice(130_831, size=50, replace=False)
    column = qm9.target_names.index("U_atomization")
    for name in ("a", "b"):
        with np.load(tmp_path / f"{name}.npz") as loaded:
            np.testing.assert_array_equal(loaded["X"], qm9.data[rows])
            np.testing.assert_array_equal(loaded["y"], qm9.target[rows, column])
    assert [path.name for path in home.iterdir()] == [cache_file(home).name]  # no temporary
    key = _qm9._source_key(_qm9._qm9pack_folder())
    cached = _qm9._read_cache(cache_file(home), key)
    assert cached is not None
    np.testing.assert_array_equal(cached["X"], qm9.data)
