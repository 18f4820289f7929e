"""The molecule format: conversions and validation."""

import numpy as np
import pytest
from ase import Atoms
from ase.io import write

from acn_sklearn.datasets import read_xyz
from acn_sklearn.molecules import (
    check_molecules,
    n_atoms,
    to_array,
    to_atoms,
    to_zr,
)

WATER = np.array([[8, 0.0, 0.0, 0.1173], [1, 0.0, 0.7572, -0.4692], [1, 0.0, -0.7572, -0.4692]])
METHANE = np.array(
    [
        [6, 0.0, 0.0, 0.0],
        [1, 0.629, 0.629, 0.629],
        [1, -0.629, -0.629, 0.629],
        [1, -0.629, 0.629, -0.629],
        [1, 0.629, -0.629, -0.629],
    ]
)


def padded(*molecules, width=6):
    X = np.zeros((len(molecules), width, 4))
    for i, m in enumerate(molecules):
        X[i, : len(m)] = m
    return X


@pytest.fixture
def X():
    return padded(WATER, METHANE)


def test_array_round_trips_through_atoms_and_zr(X):
    atoms = to_atoms(X)
    assert [a.get_chemical_formula() for a in atoms] == ["H2O", "CH4"]
    np.testing.assert_array_equal(to_array(atoms, max_atoms=6), X)
    pairs = to_zr(X)
    assert [len(z) for z, _ in pairs] == [3, 5]
    np.testing.assert_array_equal(pairs[0][0], [8, 1, 1])
    np.testing.assert_array_equal(to_array(pairs, max_atoms=6), X)


def test_sequence_input_is_as_wide_as_its_largest_molecule(X):
    assert to_array(to_atoms(X)).shape == (2, 5, 4)


def test_xyz_round_trip_keeps_order_frames_and_properties(X, tmp_path):
    atoms = to_atoms(X)
    atoms[0].info["energy"] = -76.4
    write(tmp_path / "two.extxyz", atoms, format="extxyz")
    write(tmp_path / "one.xyz", atoms[1], format="xyz")
    read = read_xyz([tmp_path / "two.extxyz", tmp_path / "one.xyz"])
    assert len(read) == 3
    assert read[0].info["energy"] == pytest.approx(-76.4)
    np.testing.assert_allclose(to_array(read[:2], max_atoms=6), X)
    np.testing.assert_allclose(to_array(read[2:]), X[1:, :5])


def test_max_atoms_pads_and_strips_trailing_padding(X):
    assert to_array(X, max_atoms=29).shape == (2, 29, 4)
    np.testing.assert_array_equal(to_array(to_array(X, max_atoms=29), max_atoms=6), X)


def test_a_molecule_is_never_truncated(X):
    with pytest.raises(ValueError, match="molecule 1: has 5 atoms, more than max_atoms=4"):
        to_array(X, max_atoms=4)


def test_input_is_not_modified(X):
    before = X.copy()
    out = check_molecules(X)
    out[0, 0, 1] = 99.0
    np.testing.assert_array_equal(X, before)


def test_valid_molecules_pass_unchanged(X):
    np.testing.assert_array_equal(check_molecules(X), X)
    np.testing.assert_array_equal(n_atoms(X), [3, 5])


def test_real_qm9_molecules_are_valid(qm9_subset):
    X, _ = qm9_subset
    assert check_molecules(X).shape == (400, 29, 4)


def corrupt(X, i, j, column, value):
    X = X.copy()
    X[i, j, column] = value
    return X


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ((1, 2, 1, np.nan), "molecule 1: coordinates contain NaN or inf"),
        ((0, 1, 3, np.inf), "molecule 0: coordinates contain NaN or inf"),
        ((1, 0, 0, np.nan), "molecule 1: nuclear charge Z is NaN"),
        ((1, 0, 0, 6.5), "molecule 1: nuclear charge Z is not an integer"),
        ((0, 0, 0, -8), "molecule 0: nuclear charge Z is negative"),
        ((1, 0, 0, 119), "molecule 1: nuclear charge Z is not a known element"),
        ((0, 1, 0, 0), "molecule 0: padding row .* between atoms"),
        ((0, 4, 2, 1.0), "molecule 0: padding row .* non-zero coordinates"),
    ],
)
def test_each_problem_is_named_with_its_molecule(X, edit, message):
    with pytest.raises(ValueError, match=message):
        check_molecules(corrupt(X, *edit))


def test_atoms_on_top_of_each_other():
    X = padded(WATER, np.vstack([WATER, [1, 0.0, 0.7572, -0.4692]]))
    with pytest.raises(ValueError, match="molecule 1: atoms 1 and 3 are 0 A apart"):
        check_molecules(X)


def test_min_distance_is_a_parameter(X):
    check_molecules(X, min_distance=0.9)
    with pytest.raises(ValueError, match="molecule 0: atoms 0 and 1 are 0.958 A apart"):
        check_molecules(X, min_distance=1.0)


def test_empty_molecule(X):
    X[1] = 0
    with pytest.raises(ValueError, match="molecule 1: empty molecule"):
        check_molecules(X)


def test_error_counts_other_molecules_with_the_same_problem(X):
    X[:, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"molecule 0: .*\(1 more molecule"):
        check_molecules(X)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((3, 4)), np.zeros((2, 5, 3)), np.zeros((2, 5, 4, 1))],
)
def test_wrong_array_shapes(bad):
    with pytest.raises(ValueError, match=r"X must have shape \(n_molecules, max_atoms, 4\)"):
        check_molecules(bad)


def test_no_molecules():
    with pytest.raises(ValueError, match="X holds no molecules"):
        check_molecules(np.zeros((0, 5, 4)))
    with pytest.raises(ValueError, match="X holds no molecules"):
        check_molecules([])


def test_bad_zr_pairs_are_named():
    good = (WATER[:, 0], WATER[:, 1:])
    with pytest.raises(
        ValueError, match=r"molecule 1: Z must have shape .* got Z \(3,\) and R \(2, 3\)"
    ):
        to_array([good, (WATER[:, 0], WATER[:2, 1:])])
    with pytest.raises(ValueError, match="molecule 0: expected ase.Atoms or a .Z, R. pair"):
        to_array([3.0])
    with pytest.raises(ValueError, match="wrap a single ase.Atoms in a list"):
        to_array(Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]]))


def _two_hydrogens(distance):
    return np.array([[[1, 0.0, 0.0, 0.0], [1, 0.0, 0.0, distance]]])


@pytest.mark.parametrize("distance", [0.49, 0.4999])
def test_atoms_just_closer_than_the_default_minimum_distance_are_refused(distance):
    with pytest.raises(ValueError, match="molecule 0: atoms 0 and 1 are"):
        check_molecules(_two_hydrogens(distance))


@pytest.mark.parametrize("distance", [0.5001, 0.51, 0.7])
def test_atoms_just_farther_than_the_default_minimum_distance_pass(distance):
    # Here d**2 (0.25 to 0.49) is below 0.5: a check that compared squared
    # distances with the unsquared threshold would refuse these.
    X = _two_hydrogens(distance)
    np.testing.assert_array_equal(check_molecules(X), X)


@pytest.mark.parametrize(("min_distance", "distance"), [(2.0, 1.5), (2.0, 1.99), (1.2, 1.1)])
def test_a_larger_minimum_distance_refuses_pairs_just_below_it(min_distance, distance):
    # Above 1 A, d**2 > d: comparing d**2 with the threshold would let these pass.
    with pytest.raises(ValueError, match="molecule 0: atoms 0 and 1"):
        check_molecules(_two_hydrogens(distance), min_distance=min_distance)
    check_molecules(_two_hydrogens(min_distance + 0.01), min_distance=min_distance)


def _chain(n_atoms, spacing=1.1):
    """A straight chain of carbons, ``spacing`` apart."""
    return np.column_stack(
        [np.full(n_atoms, 6.0), np.zeros((n_atoms, 2)), spacing * np.arange(n_atoms)]
    )


def test_the_last_atom_of_a_full_width_molecule_is_checked():
    # QM9's largest molecules have 29 atoms: the last row of the array is a real atom.
    X = _chain(29)[None]
    assert n_atoms(check_molecules(X)).tolist() == [29]
    close = X.copy()
    close[0, 28, 1:] = close[0, 27, 1:] + [0.3, 0.0, 0.0]  # 0.3 A from atom 27
    with pytest.raises(ValueError, match="molecule 0: atoms 27 and 28 are 0.3 A apart"):
        check_molecules(close)
    for column, value in ((0, 6.5), (3, np.nan)):
        with pytest.raises(ValueError, match="molecule 0: "):
            check_molecules(corrupt(X, 0, 28, column, value))


def test_the_distance_check_names_the_right_molecule_beyond_the_first_thousands():
    # Distances are checked a few thousand molecules at a time; the index in the
    # error must still be the molecule's index in X.
    X = np.repeat(_two_hydrogens(0.74), 9000, axis=0)
    check_molecules(X)
    X[8500, 1, 3] = 0.2
    with pytest.raises(ValueError, match="molecule 8500: atoms 0 and 1 are 0.2 A apart"):
        check_molecules(X)


def test_max_atoms_equal_to_the_largest_molecule_keeps_every_atom():
    X = np.pad(_chain(29)[None], ((0, 0), (0, 3), (0, 0)))  # 29 atoms, 32 rows
    narrowed = to_array(X, max_atoms=29)
    np.testing.assert_array_equal(narrowed, X[:, :29])
    with pytest.raises(ValueError, match="molecule 0: has 29 atoms, more than max_atoms=28"):
        to_array(X, max_atoms=28)
    assert [len(a) for a in to_atoms(narrowed)] == [29]
    assert len(to_zr(narrowed)[0][0]) == 29


def test_a_dataframe_gives_its_rows_as_molecules(qm9_subset_atoms, qm9_subset):
    """Columns Z and R, or one column of ase.Atoms; other columns are ignored."""
    import pandas as pd

    from acn_sklearn import make_cm_krr

    X, y = qm9_subset
    atoms = qm9_subset_atoms[:60]
    by_atoms = pd.DataFrame({"molecule": atoms, "energy": y[:60]})
    by_zr = pd.DataFrame({"Z": [a.numbers for a in atoms], "R": [a.positions for a in atoms]})
    np.testing.assert_array_equal(check_molecules(by_atoms), to_array(atoms))
    np.testing.assert_array_equal(check_molecules(by_zr), to_array(atoms))
    model = make_cm_krr().fit(by_atoms.iloc[:50], by_atoms["energy"].iloc[:50])
    np.testing.assert_allclose(model.predict(by_zr.iloc[50:]), model.predict(X[50:60]))


@pytest.mark.parametrize(
    "columns",
    [{"smiles": ["O"]}, {"first": [Atoms("H")], "second": [Atoms("H")]}, {}],
    ids=["no-molecules", "two-atoms-columns", "no-columns"],
)
def test_any_other_dataframe_is_refused_in_one_line_saying_what_to_pass(columns):
    import pandas as pd

    with pytest.raises(ValueError) as error:
        check_molecules(pd.DataFrame(columns))
    assert str(error.value) == (
        f"X is a DataFrame with columns {list(columns)}; pass one with one molecule per row, "
        "in columns 'Z' and 'R' (arrays of shape (n_atoms,) and (n_atoms, 3)) or in one "
        "column of ase.Atoms"
    )


def test_predict_valid_gives_nan_and_a_reason_for_the_molecules_the_model_refuses(qm9_subset):
    import warnings

    from test_domain import alkane

    from acn_sklearn.domain import DomainWarning
    from acn_sklearn.molecules import InvalidMoleculeError, predict_valid
    from acn_sklearn.registry import make_model

    X, y = qm9_subset
    model = make_model("slatm").fit(X[:80], y[:80])
    chloro = Atoms(
        "CClH3",
        [(0, 0, 0), (1.78, 0, 0), (-0.36, 1.03, 0), (-0.36, -0.51, 0.89), (-0.36, -0.51, -0.89)],
    )
    batch = [*to_atoms(X[100:102]), chloro, alkane(12), *to_atoms(X[102:104])]
    with pytest.raises(InvalidMoleculeError, match="molecule 2: element Z=17") as error:
        model.predict(batch)
    assert list(error.value.reasons) == [2]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction, reasons = predict_valid(model, batch)
    assert reasons == [
        None,
        None,
        "element Cl not seen in fit (this SLATM accepts H, C, N, O, F)",
        None,
        None,
        None,
    ]
    assert np.isnan(prediction[2]) and not np.isnan(np.delete(prediction, 2)).any()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        expected = model.predict([batch[i] for i in (0, 1, 3, 4, 5)])
    np.testing.assert_allclose(np.delete(prediction, 2), expected, rtol=1e-12)
    # the alkane is molecule 3 of the batch, though the model predicted it as molecule 2
    domain = [w.message for w in caught if isinstance(w.message, DomainWarning)]
    assert domain and all(w.molecules == [3] for w in domain)


def test_an_unseen_element_hint_names_the_models_own_step():
    from acn_sklearn import SLATM

    water = [([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])]
    slatm = SLATM().fit(water)
    with pytest.raises(ValueError, match="element Z=6") as error:
        slatm.transform([([6, 8], [[0, 0, 0], [1.2, 0, 0]])])
    assert "cm__elements" not in str(error.value)
    assert "`elements` parameter of this SLATM" in str(error.value)
