"""Rotational constants from the geometry, and the regressor that learns nothing."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation
from sklearn.base import clone
from sklearn.model_selection import cross_validate

from acn_sklearn.properties import RotationalConstants, rotational_constants
from acn_sklearn.study.learning_curve import run_cells


@pytest.fixture(scope="module")
def constants(qm9_subset, qm9_subset_atoms):
    """(X, QM9's A, B, C in GHz) of the test molecules."""
    abc = np.array([[atoms.info[k] for k in "ABC"] for atoms in qm9_subset_atoms])
    return qm9_subset[0], abc


def test_the_constants_are_qm9s_to_the_digits_qm9_stores(constants):
    X, abc = constants
    ours = rotational_constants(X)
    assert ours.shape == (len(X), 3)
    assert np.all(ours[:, 0] >= ours[:, 1]) and np.all(ours[:, 1] >= ours[:, 2])
    # QM9 stores 5 to 7 significant digits; standard atomic weights instead of the
    # isotope masses QM9 used would miss by 6e-4.
    np.testing.assert_allclose(ours, abc, rtol=2e-5)


def test_the_constants_ignore_position_orientation_atom_order_and_padding(constants):
    X = constants[0][:20]
    expected = rotational_constants(X)
    moved = X.copy()
    rotation = Rotation.random(random_state=0).as_matrix()
    for i in range(len(X)):
        real = X[i, :, 0] > 0
        order = np.random.default_rng(i).permutation(real.sum())
        moved[i, : real.sum(), 1:] = X[i, real, 1:][order] @ rotation.T + [3.0, -2.0, 7.0]
        moved[i, : real.sum(), 0] = X[i, real, 0][order]
    np.testing.assert_allclose(rotational_constants(moved), expected, rtol=1e-9)
    wider = np.concatenate([X, np.zeros((len(X), 5, 4))], axis=1)
    np.testing.assert_allclose(rotational_constants(wider), expected, rtol=1e-12)


def test_linear_molecules_have_a_equal_to_zero_and_b_equal_to_c():
    hydrogen_cyanide = [[1, 0.0, 0.0, -1.6], [6, 0.0, 0.0, -0.53], [7, 0.0, 0.0, 0.62]]
    a, b, c = rotational_constants(np.array([hydrogen_cyanide]))[0]
    assert a == 0.0
    assert b == pytest.approx(c, rel=1e-12)
    # I = sum m (z - z_com)^2 for the three atoms on the axis.
    masses = np.array([1.00782503223, 12.0, 14.00307400443])
    z = np.array([-1.6, -0.53, 0.62])
    moment = np.sum(masses * (z - masses @ z / masses.sum()) ** 2)
    assert b == pytest.approx(505.379 / moment, rel=1e-5)


def test_an_element_without_an_isotope_mass_is_named():
    hydrogen_sulfide = [[16, 0.0, 0.0, 0.0], [1, 0.96, 0.93, 0.0], [1, -0.96, 0.93, 0.0]]
    with pytest.raises(ValueError, match="molecule 0: element Z=16 has no isotope mass"):
        rotational_constants(np.array([hydrogen_sulfide]))


def test_the_regressor_predicts_the_constants_asked_for_and_learns_nothing(constants):
    X, abc = constants
    model = RotationalConstants(target="B").fit(X[:10], abc[:10, 1])
    np.testing.assert_allclose(model.predict(X[10:]), abc[10:, 1], rtol=2e-5)
    both = clone(RotationalConstants(target=["C", "A"])).fit(X[:10])
    np.testing.assert_allclose(both.predict(X[10:]), abc[10:][:, [2, 0]], rtol=2e-5)
    scores = cross_validate(RotationalConstants(target="A"), X, abc[:, 0], cv=2)
    assert np.all(scores["test_score"] > 1 - 1e-8)
    with pytest.raises(ValueError, match=r"y has shape \(10, 3\); target='A' gives \(10,\)"):
        RotationalConstants(target="A").fit(X[:10], abc[:10])
    with pytest.raises(ValueError, match="target must be among"):
        RotationalConstants(target="D").fit(X[:10])


def test_learning_curve_cells_score_the_exact_model(constants):
    X, abc = constants
    (cell,) = run_cells(["rotational:target='C'"], [50], X, abc[:, 2], n_test=100)
    assert cell.mae == pytest.approx(np.mean(np.abs(cell.predictions - abc[cell.test_indices, 2])))
    assert cell.mae < 1e-4
