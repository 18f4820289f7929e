"""Per-atom targets: FCHL19 atomic KRR, padding-blind scoring, learning curves and tuning."""

import warnings

import numpy as np
import pytest

from acn_sklearn import make_fchl19_atom_krr
from acn_sklearn.domain import DomainWarning
from acn_sklearn.scoring import mae_scorer, mean_absolute_error
from acn_sklearn.study.learning_curve import run_cells

#: Pauling electronegativities of H, C, N, O, F.
ELECTRONEGATIVITY = {1: 2.20, 6: 2.55, 7: 3.04, 8: 3.44, 9: 3.98}
#: A fixed sigma and alpha (near what leave-one-out chooses for H and C) keep tests fast.
FAST = {"representation__n_jobs": 1, "sigma": 40.0, "alpha": 1e-6}


def charges(X):
    """Charge-like per-atom targets: q_i = sum_j exp(-r_ij) (chi_j - chi_i).

    Each atom gains charge from less electronegative neighbours, more from close
    ones; antisymmetric in i and j, so every molecule's charges sum to 0.
    """
    chi = np.zeros(10)
    chi[list(ELECTRONEGATIVITY)] = list(ELECTRONEGATIVITY.values())
    Z = X[:, :, 0].astype(int)
    real = Z > 0
    distances = np.linalg.norm(X[:, :, None, 1:] - X[:, None, :, 1:], axis=-1)
    weights = np.exp(-distances) * real[:, :, None] * real[:, None, :]
    weights[:, np.arange(X.shape[1]), np.arange(X.shape[1])] = 0.0
    return (weights * (chi[Z][:, None, :] - chi[Z][:, :, None])).sum(axis=-1) * real


@pytest.fixture(scope="module")
def atoms_data(qm9_subset):
    """(X, q): 160 molecules without fluorine and their per-atom targets."""
    X = qm9_subset[0]
    X = X[~(X[:, :, 0] == 9).any(axis=1)][:160]
    return X, charges(X)


@pytest.fixture(scope="module")
def fitted(atoms_data):
    X, q = atoms_data
    return make_fchl19_atom_krr(**FAST).fit(X[:100], q[:100])


def test_predictions_are_per_atom_zero_at_padding_and_sum_to_the_total_charge(atoms_data, fitted):
    X, q = atoms_data
    predicted = fitted.predict(X[100:])
    real = X[100:, :, 0] > 0
    assert predicted.shape == q[100:].shape == (60, 29)
    assert not predicted[~real].any()
    np.testing.assert_allclose(predicted.sum(axis=1), 0.0, atol=1e-12)
    # It learns: far better than each element's mean charge.
    element_mean = np.zeros_like(predicted)
    for z in np.unique(X[:, :, 0][X[:, :, 0] > 0]):
        element_mean[X[100:, :, 0] == z] = q[:100][X[:100, :, 0] == z].mean()
    ours = mean_absolute_error(q[100:], predicted, X=X[100:])
    assert ours < 0.2 * mean_absolute_error(q[100:], element_mean, X=X[100:])


def test_the_factory_chooses_sigma_and_alpha_per_element_on_training_atoms(atoms_data):
    X, q = atoms_data
    model = make_fchl19_atom_krr(representation__n_jobs=1).fit(X[:40], q[:40])
    for element, krr in model.regressors_.items():
        assert len(krr.X_fit_) == np.count_nonzero(X[:40, :, 0] == element)
        assert krr.loo_mae_ == pytest.approx(krr.cv_results_["loo_mae"].min(), rel=1e-3)
        assert krr.y_baseline_ == pytest.approx(q[:40][X[:40, :, 0] == element].mean())


def test_the_charge_constraint_shifts_each_molecule_equally(atoms_data, fitted):
    X, q = atoms_data
    free = make_fchl19_atom_krr(molecule_total=None, **FAST).fit(X[:100], q[:100])
    unconstrained = free.predict(X[100:])
    real = X[100:, :, 0] > 0
    assert np.abs(unconstrained.sum(axis=1)).max() > 1e-6
    shift = unconstrained.sum(axis=1) / real.sum(axis=1)
    np.testing.assert_allclose(
        fitted.predict(X[100:]), unconstrained - shift[:, None] * real, atol=1e-12
    )
    charged = make_fchl19_atom_krr(molecule_total=1.0, **FAST).fit(X[:100], q[:100])
    np.testing.assert_allclose(charged.predict(X[100:]).sum(axis=1), 1.0, rtol=1e-12)


def test_atoms_are_compared_with_atoms_of_their_own_element_only(atoms_data):
    X, q = atoms_data
    other = q.copy()
    other[X[:, :, 0] == 8] += 0.5  # change every oxygen's target
    fixed = {**FAST, "molecule_total": None}
    a = make_fchl19_atom_krr(**fixed).fit(X[:100], q[:100]).predict(X[100:])
    b = make_fchl19_atom_krr(**fixed).fit(X[:100], other[:100]).predict(X[100:])
    oxygen = X[100:, :, 0] == 8
    np.testing.assert_allclose(a[~oxygen], b[~oxygen], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b[oxygen] - a[oxygen], 0.5, rtol=1e-6)


def test_padding_of_y_and_of_x_is_ignored(atoms_data, fitted):
    X, q = atoms_data
    y = q[:100].copy()
    y[X[:100, :, 0] == 0] = np.nan
    refit = make_fchl19_atom_krr(**FAST).fit(X[:100], y)
    np.testing.assert_array_equal(refit.predict(X[100:]), fitted.predict(X[100:]))
    wider = np.concatenate([X[100:], np.zeros((60, 3, 4))], axis=1)
    predicted = fitted.predict(wider)
    assert predicted.shape == (60, 32)
    np.testing.assert_allclose(predicted[:, :29], fitted.predict(X[100:]), rtol=1e-12)


def test_bad_per_atom_targets_are_named(atoms_data):
    X, q = atoms_data
    model = make_fchl19_atom_krr(**FAST)
    with pytest.raises(ValueError, match=r"shape \(n_molecules, max_atoms\) = \(20, 29\)"):
        model.fit(X[:20], q[:20, :10])
    y = q[:20].copy()
    y[3, 0] = np.nan
    with pytest.raises(ValueError, match="molecule 3, atom 0: y is NaN or infinite"):
        model.fit(X[:20], y)


def test_an_element_without_training_atoms_gets_the_atom_mean_the_prior_std_and_a_warning(
    qm9_subset,
):
    """A fluorine atom, unseen in training, is predicted as the mean training atom, with
    the largest prior std of the elements' regressors: the std each gives an environment
    infinitely far from its training atoms, above every seen atom's std (it was 0)."""
    X = qm9_subset[0]
    fluorine = (X[:, :, 0] == 9).any(axis=1)
    X_train, X_test = X[~fluorine][:60], X[fluorine][:1]
    q = charges(X_train)
    model = make_fchl19_atom_krr(
        **FAST, molecule_total=None, representation__elements=[1, 6, 7, 8, 9]
    )
    model.fit(X_train, q)
    with pytest.warns(DomainWarning, match=r"element never seen in training \(F\)"):
        predicted = model.predict(X_test)
    is_fluorine = X_test[:, :, 0] == 9
    np.testing.assert_allclose(predicted[is_fluorine], model.atom_mean_)
    with pytest.warns(DomainWarning, match=r"element never seen in training \(F\)"):
        mean, std = model.predict(X_test, return_std=True)
    np.testing.assert_array_equal(mean, predicted)
    far = np.full((1, model.representation_.transform(X_test).shape[2] - 1), 1e6)
    priors = [krr.predict(far, return_std=True)[1][0] for krr in model.regressors_.values()]
    assert len(set(priors)) == len(priors) == 4  # H, C, N and O: four different priors
    np.testing.assert_allclose(std[is_fluorine], max(priors), rtol=1e-12)
    seen = (X_test[:, :, 0] > 0) & ~is_fluorine
    assert std[seen].min() > 0 and std[is_fluorine].min() >= std[seen].max()


def test_scores_average_real_atoms_only():
    X = np.zeros((2, 4, 4))
    X[:, :2, 0] = 1
    X[:, 1, 1] = 0.74
    X[1, 2] = [8, 0.0, 1.0, 0.0]
    y = np.array([[0.1, -0.1, 0.0, 0.0], [0.3, 0.3, -0.6, 0.0]])
    predicted = y + np.array([[0.2, 0.2, 9.0, 9.0], [0.2, 0.2, 0.2, 9.0]])
    assert mean_absolute_error(y, predicted, X=X) == pytest.approx(0.2)
    assert mean_absolute_error(y, predicted) == pytest.approx(np.abs(predicted - y).mean())
    with pytest.raises(ValueError, match=r"per-atom y must have shape"):
        mean_absolute_error(y[:, :3], predicted[:, :3], X=X)

    class Predicts:
        def predict(self, X):
            return predicted

    assert mae_scorer(atomic=True)(Predicts(), X, y) == pytest.approx(-0.2)


def test_learning_curve_cells_of_per_atom_targets_score_real_atoms(atoms_data):
    X, q = atoms_data
    spec = "fchl19_atom:representation__n_jobs=1,sigma=40.0,alpha=1e-6"
    (cell,) = run_cells([spec], [60], X, q, n_test=50)
    test = cell.test_indices
    assert cell.predictions.shape == (50, 29)
    real = X[test, :, 0] > 0
    assert cell.mae == pytest.approx(np.abs(cell.predictions - q[test])[real].mean())
    assert cell.mae > 1.2 * np.abs(cell.predictions - q[test]).mean()  # padding diluted it


def test_tuning_scores_per_atom_targets_over_real_atoms(atoms_data):
    from optuna.distributions import FloatDistribution

    from acn_sklearn.tuning import open_study, tune_cv

    X, q = atoms_data
    study = open_study(None, "atoms", direction="maximize", resume=False, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DomainWarning)
        result = tune_cv(
            "fchl19_atom:representation__n_jobs=1,sigma=40.0,alpha=1e-6",
            X[:80],
            q[:80],
            study=study,
            n_trials=1,
            cv=2,
            space={"representation__rcut": FloatDistribution(4.0, 5.0)},
        )
    predicted = result.estimator.predict(X[100:])
    real = X[100:, :, 0] > 0
    assert result.test_mae(X[100:], q[100:]) == pytest.approx(
        np.abs(predicted - q[100:])[real].mean()
    )
    folds = [v for k, v in study.trials[0].user_attrs.items() if k.startswith("split")]
    assert len(folds) == 2 and all(-0.5 < v < 0 for v in folds)


def test_each_atom_std_is_its_element_regressors_gaussian_process_std(atoms_data, fitted):
    """An atom's std is the calibrated GP std of its own element's regressor at its FCHL19
    environment (not another element's, not shifted by the charge constraint), 0 at padding."""
    X, q = atoms_data
    _, std = fitted.predict(X[100:120], return_std=True)
    R = fitted.representation_.transform(X[100:120])
    Z = X[100:120, :, 0]
    expected = np.zeros_like(std)
    for element, krr in fitted.regressors_.items():
        atoms = Z[:, : R.shape[1]] == element
        expected[:, : R.shape[1]][atoms] = krr.predict(R[atoms][:, 1:], return_std=True)[1]
    np.testing.assert_allclose(std, expected, rtol=1e-12, atol=0)
    assert np.all(std[Z > 0] > 0) and not std[Z == 0].any()
    # the hydrogens' and the carbons' regressors give different spreads: a swap would show
    assert fitted.regressors_[1].std_scale_ != pytest.approx(fitted.regressors_[6].std_scale_)
    free = make_fchl19_atom_krr(molecule_total=None, **FAST).fit(X[:100], q[:100])
    np.testing.assert_array_equal(free.predict(X[100:120], return_std=True)[1], std)


def test_an_elements_prediction_and_std_are_its_gaussian_krr_refitted_in_numpy(atoms_data):
    """Each element is its own Gaussian KRR on its training atoms' FCHL19 environments, after
    their mean: refitted in numpy (exp(-|a - b|^2 / (2 sigma^2)), solve, GP std scaled by the
    model's leave-one-out scale), the hydrogens' charges and std are reproduced."""
    X, q = atoms_data
    model = make_fchl19_atom_krr(molecule_total=None, **FAST).fit(X[:40], q[:40])
    R_train = model.representation_.transform(X[:40])
    R_test = model.representation_.transform(X[100:110])
    A, B = R_train[R_train[:, :, 0] == 1][:, 1:], R_test[R_test[:, :, 0] == 1][:, 1:]
    hydrogens, test = X[:40, :, 0] == 1, X[100:110, :, 0] == 1
    target = q[:40][hydrogens]

    def gaussian(P, Q):
        return np.exp(-((P[:, None] - Q[None]) ** 2).sum(axis=2) / (2 * FAST["sigma"] ** 2))

    G = gaussian(A, A) + FAST["alpha"] * np.eye(len(A))
    coef = np.linalg.solve(G, target - target.mean())
    K = gaussian(B, A)
    expected = target.mean() + K @ coef
    variance = 1.0 - np.einsum("ij,ji->i", K, np.linalg.solve(G, K.T))
    mean, std = model.predict(X[100:110], return_std=True)
    np.testing.assert_allclose(mean[test], expected, rtol=1e-6, atol=1e-9)
    scale = model.regressors_[1].std_scale_
    np.testing.assert_allclose(std[test], np.sqrt(variance) * scale, rtol=1e-4)
