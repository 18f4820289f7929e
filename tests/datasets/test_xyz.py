"""read_xyz and load_xyz: the user's molecules from .xyz files, with a target from their
properties or a CSV; malformed files in one line."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from acn_sklearn.datasets import load_xyz, read_xyz
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


WATER = np.array([[8, 0.0, 0.0, 0.1173], [1, 0.0, 0.7572, -0.4692], [1, 0.0, -0.7572, -0.4692]])


def test_read_xyz_keeps_a_plain_comment_line_as_the_name(tmp_path):
    path = tmp_path / "two.xyz"
    water = "3\n{}\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n"
    path.write_text(water.format("water molecule") + water.format("name=w energy=-1.5"))
    plain, extended = read_xyz(path)
    assert plain.info == {"name": "water molecule"}
    assert extended.info["name"] == "w" and extended.info["energy"] == pytest.approx(-1.5)


def test_read_xyz_refuses_to_drop_molecules_after_a_blank_line(tmp_path):
    path = tmp_path / "gap.xyz"
    water = "3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n"
    path.write_text(water + "\n" + water + water)
    with pytest.raises(ValueError, match="holds 3 molecules, but only the first 1 could be read"):
        read_xyz(path)
    path.write_text(water + "\nwater again\n")
    with pytest.raises(ValueError, match="line 7: expected the atom count of a molecule"):
        read_xyz(path)


WATER_XYZ = "3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            WATER_XYZ.replace("H 0.96 0 0", "H 0.96 0"),
            "line 4: the atom line 'H 0.96 0' has 3 values; it needs 4 (element symbol, "
            "x coordinate, y coordinate, z coordinate)",
        ),
        (WATER_XYZ.replace("H 0.96", "Xx 0.96"), "line 4: 'Xx' is not an element symbol"),
        (
            WATER_XYZ + WATER_XYZ.replace("0.93", "O.93"),
            "line 10: y coordinate 'O.93' is not a number",
        ),
        ("", "holds no molecules (the file is empty)"),
        (WATER_XYZ[:-15], "line 1: the count says 3 atoms, but the file ends after 2 atoms"),
        (
            WATER_XYZ.replace("water", "Properties=species:S:1:pos:Q:3"),
            "line 2: cannot read this comment line's properties (Unknown property type: Q)",
        ),
    ],
    ids=["missing-coordinate", "unknown-element", "not-a-number", "empty", "short", "properties"],
)
def test_a_malformed_xyz_file_is_one_line_with_the_file_and_line(tmp_path, text, message):
    """ase says what (``'Xx'``), not where: the error names the file and the line."""
    path = tmp_path / "bad.xyz"
    path.write_text(text)
    with pytest.raises(ValueError) as error:
        read_xyz(path)
    assert str(error.value).startswith(f"{path}: {message}")
    assert "\n" not in str(error.value)


def test_read_xyz_accepts_one_path(tmp_path):
    write(tmp_path / "w.xyz", Atoms("H2O", positions=WATER[:, 1:]), format="xyz")
    assert len(read_xyz(str(tmp_path / "w.xyz"))) == 1
