"""Applicability domain: molecules outside the training data are named in a warning."""

import warnings

import numpy as np
import pytest
from ase import Atoms

from acn_sklearn import ACNRegressor, make_cm_krr
from acn_sklearn.domain import BOND_LENGTH, DomainWarning, TrainingDomain
from acn_sklearn.molecules import to_array


def alkane(n_carbons: int) -> Atoms:
    """A straight-chain alkane CnH2n+2 in a zigzag (C-C 1.53 A, C-H 1.09 A)."""
    carbons = [(1.27 * i, 0.0 if i % 2 == 0 else 0.86, 0.0) for i in range(n_carbons)]
    positions, symbols = list(carbons), ["C"] * n_carbons
    for i, (x, y, _) in enumerate(carbons):
        outward = -0.63 if i % 2 == 0 else 0.63
        for z in (0.89, -0.89):
            positions.append((x, y + outward, z))
            symbols.append("H")
    for i, x in ((0, -1.09), (n_carbons - 1, 1.09)):  # the end groups: a third hydrogen
        positions.append((carbons[i][0] + x, carbons[i][1], 0.0))
        symbols.append("H")
    return Atoms(symbols, positions)


HOF = Atoms("HOF", [(0.97, 0.0, 0.0), (0.0, 0.0, 0.0), (-0.36, 1.39, 0.0)])


def _caught(predict):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        predict()
    return [str(w.message) for w in caught if issubclass(w.category, DomainWarning)]


def test_alkane_builder_is_chemical():
    tridecane = alkane(13)
    assert tridecane.get_chemical_formula() == "C13H28" and len(tridecane) == 41
    d = tridecane.get_all_distances()
    assert d[np.triu_indices(41, 1)].min() > 1.0


@pytest.mark.parametrize("make", [make_cm_krr, lambda: ACNRegressor(max_epochs=1, random_state=0)])
def test_large_molecules_are_named_and_still_predicted(make, qm9_subset):
    X, y = qm9_subset
    model = make().fit(X[:100], y[:100])
    largest = int((X[:100, :, 0] > 1).sum(axis=1).max())
    molecules = [alkane(13), alkane(20)]
    messages = _caught(lambda: model.predict(molecules))
    assert len(messages) == 1
    assert "2 molecule(s) outside the training domain" in messages[0]
    reason = f"more heavy atoms than any training molecule ({largest}): molecule(s) 0, 1"
    assert reason in messages[0]
    assert np.isfinite(model.predict(molecules)).all()
    assert _caught(lambda: model.predict(X[:100])) == []  # the training molecules themselves


def _two_molecules_far_apart(molecules, n_atoms=40):
    """One frame of two molecules 20 A apart, ``n_atoms`` atoms in all."""
    sizes = [len(m) for m in molecules]
    i = next(i for i, n in enumerate(sizes) if n_atoms - n in sizes[i + 1 :])
    j = sizes.index(n_atoms - sizes[i], i + 1)
    second = molecules[j].copy()
    second.positions += (20.0, 0.0, 0.0)
    return Atoms(
        [*molecules[i].numbers, *second.numbers], [*molecules[i].positions, *second.positions]
    )


@pytest.mark.parametrize(
    "spec",
    [
        "cm",
        "cm_nystroem:krr__n_landmarks=40",
        "slatm",
        "fchl19",
        "acn:embedding_dim=4,cloud_channels=4,atom_dim=16,hidden_sizes=(8, 8),n_radial=4,"
        "max_epochs=2,random_state=0",
    ],
)
def test_every_model_predicts_a_molecule_larger_than_any_in_training(spec, qm9_subset_atoms):
    from acn_sklearn.kernel_ridge import compact_pipeline
    from acn_sklearn.registry import make_model

    train = qm9_subset_atoms[:60]
    y = [atoms.info["U_atomization"] for atoms in train]
    X = to_array(train)
    assert X.shape[1] < 40
    model = make_model(spec).fit(X, y)
    pair = _two_molecules_far_apart(qm9_subset_atoms[100:])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        prediction = model.predict([pair, *train[:2]])
    assert np.isfinite(prediction).all()
    domain = [w.message for w in caught if issubclass(w.category, DomainWarning)]
    assert [w.molecules for w in domain] == [[0]]
    assert "more heavy atoms than any training molecule" in domain[0].reason
    if spec == "cm":  # the Coulomb matrices of every molecule at the larger size, exactly
        assert model["cm"].size_ == 29
        wide = make_model(spec, cm__size=40).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DomainWarning)
            np.testing.assert_allclose(prediction, wide.predict([pair, *train[:2]]), rtol=1e-9)
            compact = compact_pipeline(model, X)  # as saved by acn-sklearn fit
            np.testing.assert_allclose(compact.predict([pair, *train[:2]]), prediction, rtol=1e-9)


def test_an_element_never_trained_on_is_named(qm9_subset):
    X, y = qm9_subset
    no_fluorine = ~(X[:, :, 0] == 9).any(axis=1)
    model = ACNRegressor(max_epochs=1, random_state=0, elements=(1, 6, 7, 8, 9))
    model.fit(X[no_fluorine][:60], y[no_fluorine][:60])
    with_fluorine = X[~no_fluorine][:3]
    messages = _caught(lambda: model.predict(with_fluorine))
    assert any("an element never seen in training (F): molecule(s) 0, 1, 2" in m for m in messages)


def test_a_bonded_pair_never_trained_on_is_named(qm9_subset):
    X, _ = qm9_subset
    has_o_and_f = [(x[:, 0] == 8).any() and (x[:, 0] == 9).any() for x in X]
    domain = TrainingDomain.of(X)
    assert any(has_o_and_f) and {8, 9} <= domain.elements
    # Independent check: no O-F distance under the bond length in the training molecules.
    for x in X:
        o, f = x[x[:, 0] == 8, 1:], x[x[:, 0] == 9, 1:]
        if len(o) and len(f):
            assert np.linalg.norm(o[:, None] - f[None], axis=-1).min() >= BOND_LENGTH
    outside = domain.outside(to_array([HOF]))
    assert outside == {"a bonded element pair never seen in training (O-F)": [0]}


@pytest.mark.parametrize(
    ("distance", "bonded"), [(BOND_LENGTH - 0.01, True), (BOND_LENGTH + 0.01, False)]
)
def test_bond_length_boundary(distance, bonded):
    pair = to_array([Atoms("CN", [(0, 0, 0), (distance, 0, 0)])])
    assert ((6, 7) in TrainingDomain.of(pair).bonded_pairs) == bonded


def test_size_is_counted_in_heavy_atoms(qm9_subset):
    # A small sample of QM9 has 9 heavy atoms long before its largest molecule has
    # 29 atoms: a 29-atom QM9 molecule is inside the domain of a sample of 25-atom ones.
    X, _ = qm9_subset
    atoms, heavy = (X[:, :, 0] > 0).sum(axis=1), (X[:, :, 0] > 1).sum(axis=1)
    small = atoms < atoms.max()
    assert heavy[small].max() == heavy.max()  # the subset allows the check
    domain = TrainingDomain.of(X[small])
    assert not any("heavy atoms" in reason for reason in domain.outside(X[~small]))
    nonane, decane = alkane(9), alkane(10)  # 29 and 32 atoms
    reasons = domain.outside(to_array([nonane, decane], max_atoms=32))
    assert reasons[f"more heavy atoms than any training molecule ({heavy.max()})"] == [1]


WATER = Atoms("OH2", [(0.0, 0.0, 0.1173), (0.0, 0.7572, -0.4692), (0.0, -0.7572, -0.4692)])
BOHR = 1 / 0.529177  # bohr per Angstrom


def test_positions_in_bohr_are_named(qm9_subset):
    """Water in bohr was predicted at -207.8 instead of -233.9 kcal/mol without a word."""
    X, y = qm9_subset
    model = make_cm_krr().fit(X[:100], y[:100])
    in_bohr = Atoms(WATER.numbers, WATER.positions * BOHR)
    assert _caught(lambda: model.predict([WATER])) == []
    messages = _caught(lambda: model.predict([WATER, in_bohr]))
    assert messages == [
        "1 molecule(s) outside the training domain of this CoulombMatrix model: every atom "
        "farther from its nearest neighbour than 1.4 x in training (positions in bohr? they "
        "must be in Angstrom): molecule(s) 1; their predictions are extrapolations"
    ]
    held_out = X[100:]
    domain = model.training_domain_
    assert domain.outside(held_out) == {}
    bohr = held_out * np.array([1, BOHR, BOHR, BOHR])
    assert list(domain.outside(bohr).values()) == [list(range(len(held_out)))]


def test_atoms_nearer_than_in_training_are_named(qm9_subset):
    X, _ = qm9_subset
    domain = TrainingDomain.of(X[:100])
    squeezed = Atoms(WATER.numbers, WATER.positions * 0.7)
    assert domain.outside(to_array([WATER, squeezed])) == {
        "atoms nearer than 0.75 x the shortest distance of their element pair in training (H-O)": [
            1
        ]
    }
    shortest = {(a, b): lo for a, b, lo, _ in domain.neighbour_distances}
    assert 0.9 < shortest[(1, 8)] < 0.97  # O-H bonds of QM9 molecules


def test_a_domain_saved_before_the_distances_were_recorded_skips_them(qm9_subset):
    X, _ = qm9_subset
    recorded = vars(TrainingDomain.of(X[:100]))
    old = object.__new__(TrainingDomain)  # as unpickled from an older file
    vars(old).update({k: v for k, v in recorded.items() if k != "neighbour_distances"})
    assert old.outside(to_array([Atoms(WATER.numbers, WATER.positions * BOHR)])) == {}
