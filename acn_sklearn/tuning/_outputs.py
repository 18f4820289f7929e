"""The files a tuning run leaves: best parameters, trials table, Optuna's plots."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

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
    for name, function in (
        ("optimization_history", optuna_plots.plot_optimization_history),
        ("param_importances", optuna_plots.plot_param_importances),
    ):
        path = _plot(function, study, out / f"{name}.png")
        if path is not None:
            paths[name] = path
    return paths
