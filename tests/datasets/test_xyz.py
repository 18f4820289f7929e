"""load_xyz: the user's molecules with a target from their properties or a CSV."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from acn_sklearn.datasets import load_xyz
from acn_sklearn.molecules import to_array


@pytest.fixture
def two_files(tmp_path, qm9_subset_atoms):
    first, second = tmp_path / "a.extxyz", tmp_path / "b.xyz"
    write(first, qm9_subset_atoms[:3], format="extxyz")
    write(second, [Atoms(a.numbers, a.positions) for a in qm9_subset_atoms[3:5]], format="xyz")
    return first, second


def test_molecules_names_and_target_in_file_order(two_files, qm9_subset_atoms):
    first, second = two_files
    data = load_xyz([first], "U_atomization")
    expected = [a.info["U_atomization"] for a in qm9_subset_atoms[:3]]
    np.testing.assert_allclose(data.target, expected)
    np.testing.assert_allclose(data.data, to_array(qm9_subset_atoms[:3]))
    assert data.target_units == "kcal/mol"
    assert list(data.names) == [a.info["smiles"] for a in qm9_subset_atoms[:3]]
    unnamed = load_xyz([first, second])
    assert unnamed.target is None and len(unnamed.data) == 5
    assert list(unnamed.names[3:]) == [f"{second}:0", f"{second}:1"]


def test_target_from_a_csv_column(two_files, tmp_path):
    first, _ = two_files
    csv = tmp_path / "y.csv"
    csv.write_text("energy\n1.5\n-2\n3e2\n")
    data = load_xyz(first, "energy", targets_csv=csv)
    np.testing.assert_array_equal(data.target, [1.5, -2.0, 300.0])
    assert data.target_units == "target units"
    csv.write_text("energy\n1.5\nnan\n3\n")
    with pytest.raises(ValueError, match="molecule 1: y is NaN or infinite"):
        load_xyz(first, "energy", targets_csv=csv)


def test_a_molecule_without_the_target_is_named(two_files):
    first, second = two_files
    with pytest.raises(ValueError, match=rf"molecule 3 \({second}:0\) has no property 'gap'"):
        load_xyz([first, second], "gap")


def test_a_malformed_file_is_named_in_one_line(tmp_path):
    bad = tmp_path / "bad.xyz"
    bad.write_text("3\n\nH 0 0 0\nH 0 0 1\n")
    with pytest.raises(
        ValueError,
        match=r"bad.xyz: line 1: the count says 3 atoms, but the file ends after 2 atoms",
    ):
        load_xyz(bad)


def test_an_invalid_molecule_is_named_with_its_file(two_files, tmp_path):
    first, _ = two_files
    clash = tmp_path / "clash.xyz"
    write(clash, [Atoms("H2", [[0, 0, 0], [0, 0, 0.1]])], format="xyz")
    pattern = rf"^{clash}: molecule 0 \({clash}:0\): atoms 0 and 1 are 0.1 A apart"
    with pytest.raises(ValueError, match=pattern):
        load_xyz([first, clash])


def test_a_per_atom_property_gives_one_value_per_atom(tmp_path, qm9_subset_atoms):
    molecules = [a.copy() for a in qm9_subset_atoms[:3]]
    for atoms in molecules:
        atoms.arrays["charge_like"] = np.arange(len(atoms), dtype=float) + 1
    path = tmp_path / "atoms.extxyz"
    write(path, molecules, format="extxyz")
    data = load_xyz(path, "charge_like")
    assert data.target.shape == data.data.shape[:2]
    for m, atoms in enumerate(molecules):
        np.testing.assert_array_equal(data.target[m, : len(atoms)], atoms.arrays["charge_like"])
        assert np.all(data.target[m, len(atoms) :] == 0)
    for atoms in molecules:
        atoms.arrays["vector_like"] = np.ones((len(atoms), 3))
    write(path, molecules, format="extxyz")
    with pytest.raises(ValueError, match=r"molecule 0 \(.*\): per-atom property 'vector_like'"):
        load_xyz(path, "vector_like")


PLAIN = "3\n{}\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n"


def test_plain_xyz_comment_lines_name_the_molecules(tmp_path):
    path = tmp_path / "named.xyz"
    comments = ["water, gas phase", "", "gdb 1\t2.5"]
    path.write_text("".join(PLAIN.format(comment) for comment in comments))
    assert list(load_xyz(path).names) == ["water, gas phase", f"{path}:1", "gdb 1\t2.5"]


def test_an_invalid_molecule_is_named_by_its_comment_line(tmp_path):
    path = tmp_path / "clash.xyz"
    path.write_text(PLAIN.format("water") + "2\nsqueezed H2\nH 0 0 0\nH 0 0 0.1\n")
    with pytest.raises(ValueError, match=rf"^{path}: molecule 1 \(squeezed H2\): atoms 0 and 1"):
        load_xyz(path)
