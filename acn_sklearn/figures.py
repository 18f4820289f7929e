"""Figures 4 and 5 of the paper from learning-curve cells.

Figures are drawn on :class:`matplotlib.figure.Figure` objects and saved directly,
without pyplot: no global matplotlib state (backend, current figure) changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms
from matplotlib.figure import Figure

from .analysis import fit_power_law, summarise
from .learning_curve import Cell

__all__ = ["plot_learning_curves", "plot_parity"]


def plot_learning_curves(cells: list[Cell], path: Path, unit: str) -> dict[str, tuple]:
    """Figure 4: log-log MAE against N with the fitted ``a / N**b`` line per model.

    Returns
    -------
    dict
        Model -> ``(a, b)`` of the fit (models with at least two sizes).
    """
    rows = summarise(cells)
    fits = {}
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        n = np.array([r["n_train"] for r in mine])
        mae = np.array([r["mae"] for r in mine])
        label = model
        if len(n) > 1:
            a, b = fit_power_law(n, mae)
            fits[model] = (a, b)
            label = f"{model}: {a:.3g} / N^{b:.2f}"
        line = ax.errorbar(n, mae, yerr=[r["mae_std"] for r in mine], marker="o", ls="", capsize=3)
        if len(n) > 1:
            grid = np.geomspace(n.min(), n.max(), 50)
            ax.plot(grid, fits[model][0] / grid ** fits[model][1], color=line[0].get_color())
        line[0].set_label(label)
    ax.set(xscale="log", yscale="log", xlabel="training molecules N", ylabel=f"test MAE ({unit})")
    ax.set_title("Learning curves (Figure 4)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return fits


def plot_parity(
    cell: Cell,
    y_test: np.ndarray,
    X_test: np.ndarray,
    smiles: np.ndarray,
    path: Path,
    unit: str,
    n_outliers: int = 5,
) -> list[dict]:
    """Figure 5: predicted against reference, the largest errors labelled.

    Returns
    -------
    list of dict
        The labelled outliers: SMILES, formula, reference, prediction, error.
    """
    prediction = np.asarray(cell.predictions).reshape(len(y_test), -1)[:, 0]
    reference = np.asarray(y_test).reshape(len(y_test), -1)[:, 0]
    error = prediction - reference
    worst = np.argsort(-np.abs(error))[:n_outliers]
    outliers = [
        {
            "smiles": str(smiles[i]),
            "formula": Atoms(
                numbers=X_test[i, X_test[i, :, 0] > 0, 0].astype(int)
            ).get_chemical_formula(),
            "reference": float(reference[i]),
            "prediction": float(prediction[i]),
            "error": float(error[i]),
        }
        for i in worst
    ]
    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.subplots()
    ax.scatter(reference, prediction, s=4, alpha=0.5)
    low, high = reference.min(), reference.max()
    ax.plot([low, high], [low, high], color="black", lw=0.8)
    for i, o in zip(worst, outliers, strict=True):
        ax.annotate(f"{o['smiles']} ({o['formula']})", (reference[i], prediction[i]), fontsize=7)
    ax.set(xlabel=f"reference ({unit})", ylabel=f"predicted ({unit})")
    ax.set_title(f"{cell.model}, N = {cell.n_train:,}: MAE {cell.mae:.3g} {unit} (Figure 5)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return outliers
