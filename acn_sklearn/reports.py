"""Table 1 and Figures 4 and 5 of the paper, from learning-curve cells."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from ase import Atoms

from .learning_curve import Cell, cell_record, fit_power_law, summarise

__all__ = [
    "PAPER_TABLE_1",
    "errors_by_element",
    "mae_by_element",
    "plot_learning_curves",
    "plot_parity",
    "write_outputs",
]

#: The paper's Table 1 as published (kcal/mol). Its ACN column was divided by 100:
#: the paper's own code and text give 131 kcal/mol for ACN radius 3 at N = 10,000.
PAPER_TABLE_1 = {
    "cm": {100: 385.689, 1000: 50.944, 10000: 5.82},
    "slatm": {100: 54.176, 1000: 14.54, 10000: 1.28},
    "acn:radius=3": {100: 114.65, 1000: 47.81, 10000: 1.31},
    "acn:radius=4": {100: 157.05, 1000: 47.12, 10000: 7.53},
    "acn:radius=5": {100: 159.57, 1000: 162.49, 10000: 11.47},
}


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend (commands run without a screen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _paper_value(model: str, n: int) -> str:
    value = PAPER_TABLE_1.get("acn:radius=3" if model == "acn" else model, {}).get(n)
    return "" if value is None else f"{value:g}"


def table_rows(cells: list[Cell]) -> list[dict]:
    """Summary rows with the paper's value beside ours."""
    return [
        row | {"paper_mae": _paper_value(row["model"], row["n_train"])} for row in summarise(cells)
    ]


def markdown_table(rows: list[dict], unit: str) -> str:
    """Table 1 as Markdown: MAE (+- standard deviation over repeats), times, paper value."""
    lines = [
        f"| model | N | MAE ({unit}) | repeats | fit (s) | predict (s) | paper's Table 1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        spread = f" ± {r['mae_std']:.2g}" if r["repeats"] > 1 else ""
        lines.append(
            f"| {r['model']} | {r['n_train']:,} | {r['mae']:.3g}{spread} | "
            f"{r['repeats']} | {r['fit_s']:.1f} | {r['predict_s']:.1f} | {r['paper_mae']} |"
        )
    return "\n".join(lines)


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
    from ase.data import chemical_symbols

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


def _element_table(by_model: dict[str, dict], n_train: int, unit: str) -> str:
    counts = next(iter(by_model.values()))  # the same test molecules for every model
    elements = list(counts)
    return "\n".join(
        [
            f"## Test MAE by element at N = {n_train:,} ({unit})",
            "",
            "Over the test molecules that contain each element (their number in brackets).",
            "",
            "| model | " + " | ".join(f"{e} ({counts[e]['n_molecules']})" for e in elements) + " |",
            "|---|" + "---:|" * len(elements),
            *(
                f"| {model} | " + " | ".join(f"{row[e]['mae']:.3g}" for e in elements) + " |"
                for model, row in by_model.items()
            ),
        ]
    )


def plot_learning_curves(cells: list[Cell], path: Path, unit: str) -> dict[str, tuple]:
    """Figure 4: log-log MAE against N with the fitted ``a / N**b`` line per model.

    Returns
    -------
    dict
        Model -> ``(a, b)`` of the fit (models with at least two sizes).
    """
    plt = pyplot()

    rows = summarise(cells)
    fits = {}
    fig, ax = plt.subplots(figsize=(6, 4.5))
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
    plt.close(fig)
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
    plt = pyplot()

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
    fig, ax = plt.subplots(figsize=(5.5, 5.5))
    ax.scatter(reference, prediction, s=4, alpha=0.5)
    low, high = reference.min(), reference.max()
    ax.plot([low, high], [low, high], color="black", lw=0.8)
    for i, o in zip(worst, outliers, strict=True):
        ax.annotate(f"{o['smiles']} ({o['formula']})", (reference[i], prediction[i]), fontsize=7)
    ax.set(xlabel=f"reference ({unit})", ylabel=f"predicted ({unit})")
    ax.set_title(f"{cell.model}, N = {cell.n_train:,}: MAE {cell.mae:.3g} {unit} (Figure 5)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return outliers


def write_outputs(
    cells: list[Cell],
    out: Path,
    *,
    y: np.ndarray,
    X: np.ndarray,
    smiles: np.ndarray,
    target: str,
    unit: str,
    settings: dict,
) -> dict[str, Path]:
    """Write Table 1 (Markdown, CSV), Figures 4 and 5 and a JSON of everything.

    ``settings`` holds the run's options and its provenance (``command``,
    ``date``, ``machine``, ``acn_sklearn``, from
    :func:`acn_sklearn._provenance.provenance`); the Markdown table names them.
    Figures need at least one finished cell; Figure 5 shows the best model at the
    largest N (repeat 0).

    Returns
    -------
    dict
        Output name -> path.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows = table_rows(cells)
    paths = {
        "table_md": out / "table1.md",
        "table_csv": out / "table1.csv",
        "json": out / "results.json",
    }
    largest = max((c.n_train for c in cells), default=0)
    at_largest = [c for c in cells if c.n_train == largest and c.repeat == 0]
    by_element = errors_by_element(at_largest, X, y)
    paths["table_md"].write_text(
        f"# Test MAE of {target} ({unit})\n\n"
        f"`{settings['command']}`, run {settings['date']} on {settings['machine']}, "
        f"acn_sklearn {settings['acn_sklearn']}.\n\n{markdown_table(rows, unit)}\n"
        + (f"\n{_element_table(by_element, largest, unit)}\n" if cells else "")
    )
    with paths["table_csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["model"])
        writer.writeheader()
        writer.writerows(rows)
    record = {
        "settings": settings,
        "target": target,
        "unit": unit,
        "table": rows,
        "errors_by_element": {"n_train": largest, "models": by_element},
        "cells": [cell_record(c) for c in cells],
    }
    if cells:
        paths["figure4"] = out / "figure4_learning_curves.png"
        record["power_law_fits"] = {
            m: {"a": a, "b": b}
            for m, (a, b) in plot_learning_curves(cells, paths["figure4"], unit).items()
        }
        best = min(at_largest, key=lambda c: c.mae)
        test = best.test_indices
        paths["figure5"] = out / "figure5_parity.png"
        record["parity"] = {
            "model": best.model,
            "n_train": best.n_train,
            "outliers": plot_parity(best, y[test], X[test], smiles[test], paths["figure5"], unit),
        }
    paths["json"].write_text(json.dumps(record, indent=1))
    return paths
