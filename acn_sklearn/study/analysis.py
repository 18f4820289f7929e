"""Summaries of learning-curve cells: means over repeats, power laws, errors by element."""

from __future__ import annotations

import numpy as np
from ase.data import chemical_symbols

from .learning_curve import Cell

__all__ = ["errors_by_element", "fit_power_law", "mae_by_element", "summarise"]


def fit_power_law(sizes, maes) -> tuple[float, float]:
    """Fit ``MAE = a / N**b`` by least squares in log-log space; returns ``(a, b)``."""
    slope, intercept = np.polyfit(np.log(sizes), np.log(maes), 1)
    return float(np.exp(intercept)), float(-slope)


def summarise(cells: list[Cell]) -> list[dict]:
    """Mean and standard deviation of MAE and times over repeats, per model and N.

    Skipped cells are left out of the statistics; a row whose every repeat was
    skipped has a NaN MAE, and every row names in ``skipped`` why cells of it
    were skipped (empty when none was) and in ``memory_needed`` the bytes their
    kernel matrices would need.
    """
    rows = []
    model_order = list(dict.fromkeys(c.model for c in cells))
    keys = sorted(
        {(c.model, c.n_train) for c in cells}, key=lambda k: (k[1], model_order.index(k[0]))
    )
    for model, n in keys:
        group = [c for c in cells if (c.model, c.n_train) == (model, n)]
        ran = [c for c in group if not c.skipped]
        skipped = [c for c in group if c.skipped]
        maes = np.array([c.mae for c in ran])
        rows.append(
            {
                "model": model,
                "n_train": n,
                "repeats": len(ran),
                "mae": float(maes.mean()) if ran else float("nan"),
                "mae_std": float(maes.std(ddof=1)) if len(maes) > 1 else 0.0,
                "fit_s": float(np.mean([c.fit_s for c in ran])) if ran else 0.0,
                "predict_s": float(np.mean([c.predict_s for c in ran])) if ran else 0.0,
                "skipped": skipped[0].skipped if skipped else "",
                "memory_needed": max((c.memory_needed for c in skipped), default=0),
            }
        )
    return rows


def mae_by_element(X_test: np.ndarray, y_test, predictions) -> dict[str, dict]:
    """Test MAE over the molecules that contain each element.

    Parameters
    ----------
    X_test : ndarray of shape (n_molecules, max_atoms, 4)
        Canonical test molecules.
    y_test, predictions : array-like of shape (n_molecules,) or (n_molecules, n_outputs)
        Reference and predicted values (errors are averaged over outputs).

    Returns
    -------
    dict
        Element symbol -> ``{"n_molecules": int, "mae": float}``, by nuclear charge.
    """
    Z = np.asarray(X_test)[:, :, 0].astype(int)
    error = np.abs(
        np.asarray(predictions).reshape(len(Z), -1) - np.asarray(y_test).reshape(len(Z), -1)
    ).mean(axis=1)
    return {
        chemical_symbols[z]: {"n_molecules": int(has.sum()), "mae": float(error[has].mean())}
        for z in np.unique(Z[Z > 0])
        for has in [(Z == z).any(axis=1)]
    }


def errors_by_element(cells: list[Cell], X: np.ndarray, y: np.ndarray) -> dict[str, dict]:
    """:func:`mae_by_element` of every cell, keyed by model.

    Parameters
    ----------
    cells : list of Cell
        Cells of one N and repeat (one per model).
    X, y : the whole data set
        Indexed by each cell's ``test_indices``.

    Returns
    -------
    dict
        Model -> element symbol -> ``{"n_molecules": int, "mae": float}``.
    """
    return {
        cell.model: mae_by_element(X[cell.test_indices], y[cell.test_indices], cell.predictions)
        for cell in cells
    }
