"""The files of a learning curve: Table 1 (Markdown, CSV), the figures and a JSON record."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .analysis import errors_by_element, summarise
from .figures import plot_learning_curves, plot_parity
from .learning_curve import Cell
from .registry import paper_value

__all__ = ["cell_record", "markdown_table", "table_rows", "write_outputs"]


def cell_record(cell: Cell) -> dict:
    """A JSON-ready dict of a cell (predictions included)."""
    record = asdict(cell)
    record["test_indices"] = cell.test_indices.tolist()
    record["predictions"] = np.asarray(cell.predictions).tolist()
    return record


def _paper_mae(model: str, n_train: int) -> str:
    value = paper_value(model, n_train)
    return "" if value is None else f"{value:g}"


def table_rows(cells: list[Cell]) -> list[dict]:
    """Summary rows with the paper's published value beside ours."""
    return [
        row | {"paper_mae": _paper_mae(row["model"], row["n_train"])} for row in summarise(cells)
    ]


#: The footnote every table with the paper's values carries.
PAPER_CAVEAT = (
    "\\* As printed in the paper's Table 1, which divided its ACN column by 100 (the "
    "paper's own code and text give 131 kcal/mol for ACN radius 3 at N = 10,000, not "
    "1.31) and parts of its CM and SLATM columns by 10: not comparable with ours."
)


def markdown_table(rows: list[dict], unit: str) -> str:
    """Table 1 as Markdown: MAE (+- standard deviation over repeats), times, paper value.

    When a row has a published value, the table ends with :data:`PAPER_CAVEAT`.
    """
    published = any(r["paper_mae"] for r in rows)
    mark = "\\*" if published else ""
    lines = [
        f"| model | N | MAE ({unit}) | repeats | fit (s) | predict (s) | paper's Table 1{mark} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        spread = f" ± {r['mae_std']:.2g}" if r["repeats"] > 1 else ""
        lines.append(
            f"| {r['model']} | {r['n_train']:,} | {r['mae']:.3g}{spread} | "
            f"{r['repeats']} | {r['fit_s']:.1f} | {r['predict_s']:.1f} | {r['paper_mae']} |"
        )
    if published:
        lines += ["", PAPER_CAVEAT]
    return "\n".join(lines)


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
    Figures need at least one finished cell; Figure 5 shows every model at the
    largest N (repeat 0) and lists the best one's largest errors.

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
        test = at_largest[0].test_indices
        subtitle = f"{target}, {len(test):,} held-out test molecules"
        paths["figure4"] = out / "figure4_learning_curves.png"
        fits = plot_learning_curves(cells, paths["figure4"], unit, subtitle)
        record["power_law_fits"] = {m: {"a": a, "b": b} for m, (a, b) in fits.items()}
        paths["figure5"] = out / "figure5_parity.png"
        outliers = plot_parity(
            at_largest, y[test], X[test], smiles[test], paths["figure5"], unit, subtitle=subtitle
        )
        best = min(at_largest, key=lambda c: c.mae)
        record["parity"] = {"model": best.model, "n_train": best.n_train, "outliers": outliers}
    paths["json"].write_text(json.dumps(record, indent=1))
    return paths
