"""
Tuning AtomCloudNet with Optuna: a pruned study
===============================================

A network is too expensive for k-fold cross-validation in every trial. Instead
:func:`acn_sklearn.tuning.tune_holdout` fits each trial on the training
molecules, whose own validation share (``validation_fraction``) drives early
stopping, and reports the validation MAE every epoch to Optuna: the median
pruner stops trials that are worse than the median of earlier trials at the
same epoch. The best configuration is then refitted on all training molecules
and scored once on the held-out test set.

``TIME_BUDGET`` bounds the search: no trial starts after it, and a trial still
running is stopped at the end of its epoch. The refit comes after the budget.
"""

# %%
# Data and search space
# ---------------------

from optuna.distributions import CategoricalDistribution, IntDistribution

from acn_sklearn.datasets import load_qm9
from acn_sklearn.study.protocol import held_out_split
from acn_sklearn.tuning import open_study, search_space, tune_holdout

N_TRAIN = 1000
TIME_BUDGET = 600  # seconds of searching

X, y = load_qm9(target="U_atomization", return_X_y=True)
train, test = held_out_split(len(X), N_TRAIN, n_test=2000, test_seed=0, repeat=0)

# A narrower space than the default: one or two clouds, no power pooling.
space = search_space(
    "acn",
    {
        "n_clouds": IntDistribution(1, 2),
        "pooling": CategoricalDistribution(["sum"]),
        "pooling_power": None,
    },
)
for name, distribution in space.items():
    print(f"{name}: {distribution}")

# %%
# The study
# ---------
# A ``journal:PATH`` storage lets several processes work on one study at once
# (see the tuning page of the documentation); ``None`` keeps it in memory. The
# spec ``"acn:max_epochs=150,random_state=0"`` fixes parameters outside the
# search for every trial.

study = open_study(None, f"acn-N{N_TRAIN}", direction="minimize", resume=False, seed=0)
result = tune_holdout(
    "acn:max_epochs=150,random_state=0",
    X[train],
    y[train],
    study=study,
    n_trials=None,
    timeout=TIME_BUDGET,
    space=space,
)
states = [trial.state.name for trial in study.trials]
print(f"{len(states)} trials, {states.count('PRUNED')} pruned")
print(f"best parameters: {result.best_params}")
print(f"best validation MAE: {result.search_mae:.3f} kcal/mol")
print(f"test MAE of the refitted best model: {result.test_mae(X[test], y[test]):.3f} kcal/mol")
