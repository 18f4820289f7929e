"""Several QM9 targets from one kernel fit, each with the baseline of its kind."""

import numpy as np
import pytest

from acn_sklearn import make_cm_krr
from acn_sklearn.kernel_ridge import KernelRidgeRegressor


def _targets(atoms_list, names):
    return np.array([[atoms.info[name] for name in names] for atoms in atoms_list])


def test_one_fit_of_several_targets_equals_one_fit_per_target(qm9_subset, qm9_subset_atoms):
    X = qm9_subset[0][:150]
    names = ["U0_atomization", "gap", "r2"]
    y = _targets(qm9_subset_atoms[:150], names)
    joint = make_cm_krr(target=names).fit(X[:100], y[:100])
    predicted = joint.predict(X[100:])
    assert predicted.shape == (50, 3)
    for j, name in enumerate(names):
        alone = make_cm_krr(target=name).fit(X[:100], y[:100, j])
        np.testing.assert_allclose(predicted[:, j], alone.predict(X[100:]), rtol=1e-9)


def test_intensive_targets_get_the_mean_and_extensive_ones_the_element_baseline(
    qm9_subset, qm9_subset_atoms
):
    X = qm9_subset[0][:120]
    y = _targets(qm9_subset_atoms[:120], ["U0_atomization", "gap"])
    model = make_cm_krr(target=["U0_atomization", "gap"]).fit(X, y)
    assert model.baseline_kinds_ == ["elements", "mean"]
    baseline = model._baseline(X)
    np.testing.assert_allclose(baseline[:, 1], y[:, 1].mean(), rtol=1e-12)
    elements = make_cm_krr(baseline="elements").fit(X, y[:, 0])
    np.testing.assert_allclose(baseline[:, 0], elements._baseline(X), rtol=1e-10)
    # The spatial extent grows with the molecule; the dipole moment does not.
    y2 = _targets(qm9_subset_atoms[:120], ["r2", "mu"])
    assert make_cm_krr(target=["r2", "mu"]).fit(X, y2).baseline_kinds_ == ["elements", "mean"]
    # Without target names every target is taken as extensive.
    assert make_cm_krr().fit(X, y).baseline_kinds_ == ["elements", "elements"]
    assert make_cm_krr(baseline="mean").fit(X, y).baseline_kinds_ == ["mean", "mean"]


def test_target_names_must_match_the_columns_of_y(qm9_subset, qm9_subset_atoms):
    X = qm9_subset[0][:40]
    y = _targets(qm9_subset_atoms[:40], ["U0", "gap"])
    with pytest.raises(ValueError, match="must name each column"):
        make_cm_krr(target=["U0"]).fit(X, y)
    with pytest.raises(ValueError, match="must name each column"):
        make_cm_krr(target="U0").fit(X, y)
    with pytest.raises(ValueError, match="unknown QM9 target"):
        make_cm_krr(target=["U0", "band_gap"]).fit(X, y)


def test_several_targets_share_sigma_and_alpha_chosen_in_their_own_units():
    rng = np.random.default_rng(0)
    X = np.sort(rng.uniform(0, 1, 80))[:, None]
    smooth, rough = np.sin(2 * X[:, 0]), np.sin(25 * X[:, 0])
    grid = dict(sigma=[0.01, 0.03, 0.1, 0.3, 1.0], alpha=[1e-8, 1e-4])

    def chosen(y):
        model = KernelRidgeRegressor(**grid).fit(X, y)
        return model.sigma_, model.alpha_

    # The two targets alone prefer different widths ...
    assert chosen(smooth) != chosen(rough)
    # ... and the joint choice does not depend on the unit either target is given in.
    assert chosen(np.column_stack([smooth * 1e6, rough])) == chosen(
        np.column_stack([smooth, rough * 1e6])
    )
    model = KernelRidgeRegressor(**grid).fit(X, np.column_stack([smooth, rough * 1e6]))
    per_target = model.cv_results_["loo_mae_per_target"]
    assert per_target.shape == (len(model.cv_results_["sigma"]), 2)
    np.testing.assert_allclose(
        model.cv_results_["loo_mae"], (per_target / [smooth.std(), 1e6 * rough.std()]).mean(axis=1)
    )
