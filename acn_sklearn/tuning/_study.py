"""Two ways to tune, one result: OptunaSearchCV for kernel models, a pruned study for ACN.

Both search on training molecules only and then refit the best configuration on
all of them; the held-out test set is scored once, after the search. The first
trial of a new study is the model's own configuration (:func:`enqueue_defaults`),
so a search never ends on something worse than the defaults by its own criterion.

- :func:`tune_cv` (sklearn style): ``optuna_integration.OptunaSearchCV`` with
  k-fold cross-validation on the training data. Its study maximises the negative
  MAE, sklearn's sign convention.
- :func:`tune_holdout` (study style, for the network): each trial fits on the
  training data, whose own validation split (``validation_fraction``) drives
  early stopping; the validation MAE is reported every epoch so that Optuna's
  pruner stops bad trials early. The study minimises the validation MAE.

Studies live in a storage (:mod:`._storage`); the network's trials are pruned
epoch by epoch (:mod:`._pruning`).
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
import optuna
from sklearn.model_selection import KFold

from ..molecules import elements_in, to_array
from ..registry import make_model, model_entry, parse_model_spec, set_elements, set_target
from ..scoring import mae_scorer
from ._pruning import OptunaPruning
from ._spaces import sample_params, search_space

__all__ = [
    "TuningResult",
    "enqueue_defaults",
    "report_trials",
    "study_direction",
    "tune_cv",
    "tune_holdout",
]


def study_direction(spec: str) -> str:
    """Direction of a study of this model: ``"maximize"`` for kernel models, whose
    :func:`tune_cv` scores the negative MAE, ``"minimize"`` for networks, whose
    :func:`tune_holdout` reports the validation MAE."""
    return "minimize" if model_entry(spec).kind == "network" else "maximize"


@dataclass
class TuningResult:
    """What every tuning path returns.

    Attributes
    ----------
    model : str
        Model name (``"slatm"``, ``"acn"``...).
    best_params : dict
        Best parameters; ``make_model(model, **best_params)`` rebuilds the model
        (told its target with :func:`~acn_sklearn.registry.set_target` if the
        search named one).
    search_mae : float
        The best search score: cross-validated MAE (:func:`tune_cv`) or
        validation MAE (:func:`tune_holdout`), training data only.
    estimator : sklearn estimator
        The best configuration refitted on all training data.
    study : optuna.Study
    """

    model: str
    best_params: dict
    search_mae: float
    estimator: object
    study: optuna.Study

    def test_mae(self, X_test, y_test) -> float:
        """MAE of the refitted best model on held-out molecules (over their real atoms
        for a model of per-atom targets)."""
        atomic = model_entry(self.model).targets == "atomic"
        return -mae_scorer(atomic=atomic)(self.estimator, X_test, y_test)


def _within(distribution, value) -> bool:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return value in distribution.choices
    # A default such as sigma="auto" is no point of a numeric range: nothing to enqueue.
    return isinstance(value, Real) and distribution.low <= value <= distribution.high


def enqueue_defaults(study: optuna.Study, model, space) -> dict:
    """Queue the model's own values of the searched parameters as a trial.

    Run first in a new study, it makes the search start from the defaults, so
    the best trial can only be as good or better on the search's criterion.
    A study that already holds that trial (a resumed one) gets no copy.

    Returns
    -------
    dict
        The queued parameters (those whose value lies inside the space).
    """
    params = model.get_params()
    defaults = {
        name: params[name]
        for name, distribution in space.items()
        if name in params and _within(distribution, params[name])
    }
    if defaults:
        study.enqueue_trial(defaults, skip_if_exists=True)
    return defaults


def _model(spec: str, target: str | None, **params):
    """The model of ``spec`` with ``params``, told its target if one is named."""
    model = make_model(spec, **params)
    return model if target is None else set_target(model, target)


def _completed(study: optuna.Study) -> bool:
    return any(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def tune_cv(
    spec: str,
    X,
    y,
    *,
    study: optuna.Study,
    n_trials: int | None = 10,
    timeout: float | None = None,
    cv: int = 5,
    n_jobs: int = 1,
    space=None,
    random_state: int | None = 0,
    cache_dir=None,
    callbacks=None,
    target: str | None = None,
) -> TuningResult:
    """Tune a model with ``OptunaSearchCV`` (k-fold CV on the training data).

    Parameters
    ----------
    spec : str
        Model spec; its parameters are fixed, the search space's vary.
    X, y : training molecules and targets
        The model is told every element of ``X`` (unless the spec sets
        ``elements``), so every fold can be scored.
    study : optuna.Study
        A ``maximize`` study (negative MAE), e.g. from :func:`open_study`.
    n_trials, timeout : int, float
        Budget of this call (trials already in a resumed study are kept).
    cv : int, default=5
        Folds.
    n_jobs : int, default=1
        Trials run in parallel threads.
    space : dict, optional
        Search space; default :func:`search_space` of the model.
    random_state : int, optional
        Seeds the folds.
    cache_dir : path, optional
        Representation cache for every step whose ``memory`` is unset, so that
        trials and folds compute each molecule's representation once.
    callbacks : list of callable, optional
        Called as ``callback(study, trial)`` after each trial, e.g.
        :func:`report_trials`.
    target : str, optional
        Name of the QM9 target, told to the model
        (:func:`~acn_sklearn.registry.set_target`: ``"mu"`` gives ACN its
        dipole head).

    Returns
    -------
    TuningResult
    """
    from optuna_integration import OptunaSearchCV

    name, _ = parse_model_spec(spec)
    # Declare every element of X, so that a fold whose training part lacks a rare
    # element (fluorine) is still scored instead of failing and left out as NaN.
    model = set_elements(_model(spec, target), elements_in(to_array(X)))
    space = space or search_space(name)
    enqueue_defaults(study, model, space)
    if cache_dir is not None:
        unset = [k for k, v in model.get_params().items() if k.endswith("__memory") and v is None]
        model.set_params(**dict.fromkeys(unset, str(cache_dir)))
    with warnings.catch_warnings():
        # OptunaSearchCV is "experimental" and optuna's terminator "deprecated": said once
        # per trial, these warnings drown the search's own output.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
        search = OptunaSearchCV(
            model,
            space,
            study=study,
            n_trials=n_trials,
            timeout=timeout,
            cv=KFold(cv, shuffle=True, random_state=random_state),
            scoring=mae_scorer(atomic=model_entry(spec).targets == "atomic"),
            n_jobs=n_jobs,
            refit=True,
            error_score=np.nan,
            random_state=random_state,
            callbacks=callbacks,
        )
        search.fit(X, y)
    return TuningResult(
        name, dict(study.best_params), -study.best_value, search.best_estimator_, study
    )


def tune_holdout(
    spec: str,
    X,
    y,
    *,
    study: optuna.Study,
    n_trials: int | None = 10,
    timeout: float | None = None,
    space=None,
    monitor: str = "valid_mae",
    callbacks=None,
    target: str | None = None,
) -> TuningResult:
    """Tune a network trial by trial on its validation split, pruning bad trials.

    Parameters
    ----------
    spec : str
        Model spec of a skorch model (``"acn"``, ``"acn:max_epochs=100"``).
    X, y : training molecules and targets
        The model's ``validation_fraction`` of them is the validation split.
    study : optuna.Study
        A ``minimize`` study, e.g. from :func:`open_study`.
    n_trials, timeout : int, float
        Budget of this call. A trial still running when ``timeout`` seconds
        have passed is pruned at the end of its epoch; the refit of the best
        configuration comes after the budget.
    space : dict, optional
        Search space; default :func:`search_space` of the model.
    monitor : str, default="valid_mae"
        History key reported per epoch and minimised.
    callbacks : list of callable, optional
        Called as ``callback(study, trial)`` after each trial, e.g.
        :func:`report_trials`.
    target : str, optional
        Name of the QM9 target, told to the model as in :func:`tune_cv`.

    Returns
    -------
    TuningResult
    """
    name, _ = parse_model_spec(spec)
    space = space or search_space(name)
    enqueue_defaults(study, _model(spec, target), space)
    deadline = None if timeout is None else time.monotonic() + timeout

    def objective(trial: optuna.Trial) -> float:
        params = sample_params(trial, space)
        pruning = OptunaPruning(trial, monitor, deadline)
        model = _model(spec, target, **params, callbacks=[("prune", pruning)])
        model.fit(X, y)
        return float(np.min(model.history[:, monitor]))

    study.optimize(objective, n_trials=n_trials, timeout=timeout, callbacks=callbacks)
    if not _completed(study):
        raise RuntimeError("no trial finished: raise --n-trials or --timeout")
    best = _model(spec, target, **study.best_params).fit(X, y)
    return TuningResult(name, dict(study.best_params), study.best_value, best, study)


def report_trials(unit: str, stream=None):
    """A study callback that prints one line per finished trial: its MAE and parameters.

    Kernel studies maximise the negative MAE (scikit-learn's sign convention);
    the line shows the MAE itself, in ``unit``, for every kind of model.

    Parameters
    ----------
    unit : str
        Unit of the target.
    stream : file, optional
        Where to print (default: standard error).

    Returns
    -------
    callable
        ``callback(study, trial)``.
    """

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            outcome = f"search MAE {abs(trial.value):.4g} {unit}"
        else:
            outcome = trial.state.name.lower()
        print(f"trial {trial.number}: {outcome} {trial.params}", file=stream or sys.stderr)

    return report
