"""Representation transformers: values against direct qmllib calls, sklearn behaviour."""

import functools
import pickle

import numpy as np
import pytest
from qmllib.representations import (
    generate_coulomb_matrix,
    generate_coulomb_matrix_eigenvalue,
    generate_fchl19,
    generate_slatm,
    get_slatm_mbtypes,
)
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from acn_sklearn.molecules import n_atoms, to_zr
from acn_sklearn.representations import FCHL19, SLATM, CoulombMatrix

TRANSFORMERS = [CoulombMatrix, SLATM, FCHL19]


@pytest.fixture(scope="module")
def molecules(qm9_subset):
    """40 QM9 molecules, about 0.1 s of SLATM."""
    return qm9_subset[0][:40]


@pytest.fixture(scope="module")
def with_fluorine(qm9_subset):
    X = qm9_subset[0]
    has_f = (X[:, :, 0] == 9).any(axis=1)
    return X[~has_f][:30], X[has_f][:3]


@pytest.mark.parametrize("sorting", ["row-norm", "unsorted", "eigenvalue"])
def test_coulomb_matrix_matches_qmllib(molecules, sorting):
    cm = CoulombMatrix(sorting=sorting).fit(molecules)
    size = int(n_atoms(molecules).max())
    assert cm.size_ == size
    out = cm.transform(molecules)
    for row, (z, r) in zip(out, to_zr(molecules), strict=True):
        if sorting == "eigenvalue":
            expected = generate_coulomb_matrix_eigenvalue(z, r, size=size)
        else:
            expected = generate_coulomb_matrix(z, r, size=size, sorting=sorting)
        np.testing.assert_allclose(row, expected, rtol=1e-12)
    assert out.shape == (len(molecules), cm.n_features_out_)


def test_coulomb_matrix_size_unseen_in_fit(molecules):
    fits = n_atoms(molecules) < n_atoms(molecules).max()
    small = molecules[fits]
    cm = CoulombMatrix().fit(small)
    largest = int(n_atoms(molecules).max())
    # a larger molecule: the batch at its size, the smaller molecules' rows a prefix + zeros
    wide = cm.transform(molecules)
    assert wide.shape[1] == largest * (largest + 1) // 2 > cm.n_features_out_
    np.testing.assert_array_equal(wide[fits, : cm.n_features_out_], cm.transform(small))
    assert not wide[fits, cm.n_features_out_ :].any()
    eigenvalues = CoulombMatrix(sorting="eigenvalue").fit(small)
    with pytest.raises(ValueError, match="has .* atoms, more than"):
        eigenvalues.transform(molecules)
    assert CoulombMatrix(size=29).fit(small).transform(molecules).shape[1] == 29 * 30 // 2
    with pytest.raises(ValueError, match="more than the 5"):
        CoulombMatrix(size=5).fit(molecules)


def test_slatm_matches_qmllib(molecules):
    slatm = SLATM().fit(molecules)
    qmllib_types = get_slatm_mbtypes([z for z, _ in to_zr(molecules)])
    # The training set has >= 3 atoms of each element: the same types as qmllib's.
    assert sorted(slatm.mbtypes_) == sorted([int(z) for z in t] for t in qmllib_types)
    out = slatm.transform(molecules[:5])
    for row, (z, r) in zip(out, to_zr(molecules[:5]), strict=True):
        np.testing.assert_allclose(row, generate_slatm(z, r, slatm.mbtypes_), rtol=1e-12)
    assert out.shape == (5, slatm.n_features_out_)


def test_slatm_types_come_from_training_molecules(with_fluorine):
    no_f, f = with_fluorine
    slatm = SLATM().fit(no_f)
    assert not any(9 in t for t in slatm.mbtypes_)
    assert any(9 in t for t in SLATM().fit(np.concatenate([no_f, f])).mbtypes_)


def test_fchl19_matches_qmllib(molecules):
    fchl = FCHL19().fit(molecules)
    out = fchl.transform(molecules[:5])
    assert out.shape == (5, fchl.max_atoms_, fchl.n_features_out_)
    for row, (z, r) in zip(out, to_zr(molecules[:5]), strict=True):
        expected = generate_fchl19(z, r, elements=fchl.elements_.tolist())
        np.testing.assert_array_equal(row[: len(z), 0], z)
        np.testing.assert_allclose(row[: len(z), 1:], expected, rtol=1e-12)
        assert not row[len(z) :].any()


def test_fchl19_accepts_molecules_larger_than_in_fit(molecules):
    is_small = n_atoms(molecules) < n_atoms(molecules).max()
    fchl = FCHL19().fit(molecules[is_small])
    out = fchl.transform(molecules)
    assert out.shape[1] == n_atoms(molecules).max() > fchl.max_atoms_
    small = fchl.transform(molecules[is_small])
    np.testing.assert_array_equal(out[is_small][:, : fchl.max_atoms_], small)
    assert not out[is_small][:, fchl.max_atoms_ :].any()


@pytest.mark.parametrize("Transformer", TRANSFORMERS)
def test_unseen_element_is_refused_or_declared(Transformer, with_fluorine):
    no_f, f = with_fluorine
    unseen = r"molecule 0: element Z=9 \(atom \d+\) was not seen in fit"
    with pytest.raises(ValueError, match=unseen):
        Transformer().fit(no_f).transform(f)
    declared = Transformer(elements=[1, 6, 7, 8, 9]).fit(no_f)
    assert declared.transform(f).shape[0] == len(f)
    # Declared elements add to those of the training data; they never refuse them.
    seen_in_f = set(f[:, :, 0][f[:, :, 0] > 0].astype(int).tolist())
    assert 9 in seen_in_f
    assert Transformer(elements=[1, 6]).fit(f).elements_.tolist() == sorted(seen_in_f | {1, 6})


@pytest.mark.parametrize("Transformer", TRANSFORMERS)
def test_not_fitted_and_invalid_molecules(Transformer, molecules):
    with pytest.raises(NotFittedError):
        Transformer().transform(molecules)
    bad = molecules[:3].copy()
    bad[1, 0, 1] = np.nan
    with pytest.raises(ValueError, match="molecule 1: coordinates contain NaN"):
        Transformer().fit(molecules).transform(bad)


@pytest.mark.parametrize("Transformer", TRANSFORMERS)
def test_clone_pickle_and_formats(Transformer, molecules, qm9_subset_atoms):
    fitted = Transformer(n_jobs=1).fit(molecules)
    expected = fitted.transform(molecules[:4])
    assert clone(fitted).get_params() == fitted.get_params()
    assert not hasattr(clone(fitted), "elements_")
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.transform(molecules[:4]), expected, rtol=1e-12)
    # ase.Atoms input gives the same representation as the canonical array
    np.testing.assert_allclose(fitted.transform(qm9_subset_atoms[:4]), expected)


@pytest.mark.parametrize("Transformer", [CoulombMatrix, SLATM])
def test_feature_names_and_set_output(Transformer, molecules):
    model = Transformer().fit(molecules)
    names = model.get_feature_names_out()
    assert len(names) == model.n_features_out_ == len(set(names))
    frame = model.set_output(transform="pandas").transform(molecules[:3])
    assert list(frame.columns) == list(names)
    assert frame.shape == (3, model.n_features_out_)


def test_fchl19_has_no_set_output():
    assert not hasattr(FCHL19(), "set_output")


@pytest.mark.slow
def test_parallel_generation_matches_serial(qm9_subset):
    X = qm9_subset[0]  # more molecules than one joblib task holds
    cm = CoulombMatrix().fit(X)
    serial = cm.transform(X)
    np.testing.assert_allclose(cm.set_params(n_jobs=2).transform(X), serial, rtol=1e-12)


def _counting(function, calls):
    @functools.wraps(function)
    def count(nuclear_charges, coordinates, **settings):
        calls.append(1)
        return function(nuclear_charges, coordinates, **settings)

    return count


@pytest.mark.parametrize(
    ("Transformer", "other_settings"),
    [(CoulombMatrix, {"sorting": "unsorted"}), (SLATM, {"rcut": 4.0}), (FCHL19, {"rcut": 6.0})],
)
def test_memory_caches_each_molecule_once(
    Transformer, other_settings, molecules, tmp_path, monkeypatch
):
    calls = []
    monkeypatch.setattr(
        Transformer, "_represent_one", staticmethod(_counting(Transformer._represent_one, calls))
    )
    uncached = Transformer().fit(molecules).transform(molecules[:30])
    calls.clear()
    model = Transformer(memory=str(tmp_path)).fit(molecules)
    first = model.transform(molecules[:20])
    n_first = len(calls)
    overlapping = model.transform(molecules[10:30])  # 10 molecules new
    assert len(calls) - n_first == 10
    np.testing.assert_allclose(first, uncached[:20], rtol=1e-12)
    np.testing.assert_allclose(overlapping, uncached[10:30], rtol=1e-12)
    # other settings are other cache entries
    calls.clear()
    other = clone(model).set_params(**other_settings).fit(molecules).transform(molecules[:5])
    assert len(calls) >= 5
    assert other.shape != first[:5].shape or not np.allclose(other, first[:5])


def test_a_molecule_larger_than_the_fitted_size_is_predicted_as_at_the_larger_size(qm9_subset):
    """A Coulomb-matrix model fitted on small molecules predicts larger ones as a model
    whose matrices are all of the larger size (zero-padded training matrices): the
    size is in atoms, the training domain in heavy atoms, so these are within it."""
    import warnings

    from acn_sklearn import make_cm_krr

    X, y = qm9_subset
    counts = (X[:, :, 0] > 0).sum(axis=1)
    small, big = np.flatnonzero(counts <= 15)[:80], np.flatnonzero(counts > 15)[:10]
    model = make_cm_krr(cm__size=None).fit(X[small], y[small])
    wide = make_cm_krr(cm__size=X.shape[1]).fit(X[small], y[small])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(model.predict(X[big]), wide.predict(X[big]), rtol=1e-9)
