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
from .paper import paper_value
from .peers import Peer, peers_for

__all__ = ["cell_record", "markdown_table", "peer_table", "table_rows", "write_outputs"]


def cell_record(cell: Cell) -> dict:
    """A JSON-ready dict of a cell (predictions included)."""
    record = asdict(cell)
    record["mae"] = None if cell.skipped else cell.mae
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
    A skipped row says so, and why, in place of its MAE.
    """
    published = any(r["paper_mae"] for r in rows)
    mark = "\\*" if published else ""
    lines = [
        f"| model | N | MAE ({unit}) | repeats | fit (s) | predict (s) | paper's Table 1{mark} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if not r["repeats"]:
            lines.append(
                f"| {r['model']} | {r['n_train']:,} | skipped: {r['skipped']} | 0 | | | "
                f"{r['paper_mae']} |"
            )
            continue
        spread = f" ± {r['mae_std']:.2g}" if r["repeats"] > 1 else ""
        if r.get("skipped"):
            spread += f" (other repeats skipped: {r['skipped']})"
        lines.append(
            f"| {r['model']} | {r['n_train']:,} | {r['mae']:.3g}{spread} | "
            f"{r['repeats']} | {r['fit_s']:.1f} | {r['predict_s']:.1f} | {r['paper_mae']} |"
        )
    if published:
        lines += ["", PAPER_CAVEAT]
    return "\n".join(lines)


def peer_table(peers: tuple[Peer, ...]) -> str:
    """The published full-QM9 results as Markdown (:mod:`acn_sklearn.peers`)."""
    return "\n".join(
        [
            "## Published models trained on about 110,000 QM9 molecules (U0)",
            "",
            "Each scored on its own held-out molecules, not on ours.",
            "",
            "| model | N | MAE (kcal/mol) | as reported | source |",
            "|---|---:|---:|---:|---|",
            *(
                f"| {p.name} | {p.n_train:,} | {p.mae:.3g} | {p.reported} | {p.source} |"
                for p in peers
            ),
        ]
    )


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
    :func:`acn_sklearn._provenance.provenance`); the Markdown table names them,
    or those of each of ``settings["runs"]`` (cells of several runs, merged).
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
    ran = [c for c in cells if not c.skipped]
    largest = max((c.n_train for c in ran), default=0)
    at_largest = [c for c in ran if c.n_train == largest and c.repeat == 0]
    by_element = errors_by_element(at_largest, X, y)
    peers = peers_for(target, unit)
    runs = "".join(
        f"`{run['command']}`, run {run['date']} on {run['machine']}, "
        f"acn_sklearn {run['acn_sklearn']}.\n\n"
        for run in settings.get("runs", [settings])
    )
    paths["table_md"].write_text(
        f"# Test MAE of {target} ({unit})\n\n{runs}{markdown_table(rows, unit)}\n"
        + (f"\n{peer_table(peers)}\n" if peers else "")
        + (f"\n{_element_table(by_element, largest, unit)}\n" if ran else "")
    )
    with paths["table_csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["model"])
        writer.writeheader()
        writer.writerows(rows)
    record = {
        "settings": settings,
        "target": target,
        "unit": unit,
        "table": [r | {"mae": None} if not r["repeats"] else r for r in rows],
        "peers": [asdict(p) for p in peers],
        "errors_by_element": {"n_train": largest, "models": by_element},
        "cells": [cell_record(c) for c in cells],
    }
    if ran:
        test = at_largest[0].test_indices
        subtitle = f"{target}, {len(test):,} held-out test molecules"
        paths["figure4"] = out / "figure4_learning_curves.png"
        fits = plot_learning_curves(cells, paths["figure4"], unit, subtitle, peers)
        record["power_law_fits"] = {m: {"a": a, "b": b} for m, (a, b) in fits.items()}
        paths["figure5"] = out / "figure5_parity.png"
        outliers = plot_parity(
            at_largest, y[test], X[test], smiles[test], paths["figure5"], unit, subtitle=subtitle
        )
        best = min(at_largest, key=lambda c: c.mae)
        record["parity"] = {"model": best.model, "n_train": best.n_train, "outliers": outliers}
    paths["json"].write_text(json.dumps(record, indent=1))
    return paths
