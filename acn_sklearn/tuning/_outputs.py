"""The files a tuning run leaves: best parameters, trials table, Optuna's plots."""

from __future__ import annotations

import json
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import optuna

from ._study import TuningResult

__all__ = ["write_results"]


def _plot(function, study: optuna.Study, path: Path) -> Path | None:
    # Optuna draws through pyplot; without a display pyplot picks a file backend
    # itself, so nothing here switches matplotlib's backend for the process.
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings():  # the matplotlib backend is "experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            axes = function(study)
    except (ValueError, RuntimeError) as error:  # e.g. importances need 2 finished trials
        print(f"skipped {path.name}: {error}")
        return None
    axes.figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(axes.figure)
    return path


def _mae_history(study: optuna.Study, label: str):
    """Optuna's history plot of the MAE and the best MAE so far.

    A kernel search maximises the negative MAE (sklearn's score): it is drawn
    as the MAE itself, and its best-so-far line (which optuna leaves out for a
    transformed objective) drawn here.
    """
    from optuna.visualization import matplotlib as optuna_plots

    if study.direction == optuna.study.StudyDirection.MINIMIZE:
        return optuna_plots.plot_optimization_history(study, target_name=label)
    axes = optuna_plots.plot_optimization_history(
        study, target=lambda trial: -trial.value, target_name=label
    )
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    best = np.minimum.accumulate([-t.value for t in done])
    axes.plot([t.number for t in done], best, color="tab:red", label="Best Value")
    axes.legend(bbox_to_anchor=(1.05, 1.0), loc="upper left")
    return axes


def write_results(
    result: TuningResult, out: Path, *, spec: str, test_mae: float, info: dict
) -> dict[str, Path]:
    """Write ``best_params.json``, ``trials.csv`` and the plots into ``out``.

    ``best_params.json`` holds ``model`` and ``params``:
    ``make_model(record["model"], **record["params"])`` rebuilds the best model.

    Returns
    -------
    dict
        Output name -> path.
    """
    from optuna.visualization import matplotlib as optuna_plots

    out.mkdir(parents=True, exist_ok=True)
    study = result.study
    record = {
        "model": spec,
        "params": result.best_params,
        "search_mae": result.search_mae,
        "test_mae": test_mae,
        "study_name": study.study_name,
        "n_trials": len(study.trials),
        "states": {
            s.name: sum(t.state == s for t in study.trials) for s in optuna.trial.TrialState
        },
        **info,
    }
    paths = {"best_params": out / "best_params.json", "trials": out / "trials.csv"}
    paths["best_params"].write_text(json.dumps(record, indent=1))
    study.trials_dataframe().to_csv(paths["trials"], index=False)
    # The search MAE, not optuna's "Objective Value".
    label = f"search MAE ({info['unit']})" if "unit" in info else "search MAE"
    history = partial(_mae_history, label=label)
    importances = partial(optuna_plots.plot_param_importances, target_name=label)
    for name, function in (("optimization_history", history), ("param_importances", importances)):
        path = _plot(function, study, out / f"{name}.png")
        if path is not None:
            paths[name] = path
    return paths
