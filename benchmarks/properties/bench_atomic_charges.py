"""QM9's Mulliken charges per atom by FCHL19 atomic KRR, on the fixed split.

For each training size N of the fixed split (`common.held_out_split`, 2,000 test
molecules), fit :func:`acn_sklearn.make_fchl19_atom_krr` (sigma and alpha by
leave-one-out per element on the training atoms; charges shifted to sum to 0 per
molecule) and report the test MAE over real atoms, overall and per element, beside
the MAE of predicting each element's mean training charge. Rows accumulate in a JSON
file; every run appends the report's new rows to the record
(``benchmarks/results.jsonl``).

Run from the repository root:
``python -m benchmarks.properties.bench_atomic_charges --sizes 100 300``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from acn_sklearn import make_fchl19_atom_krr
from acn_sklearn.scoring import mean_absolute_error
from benchmarks.common import RAW, held_out_split, machine, now, write_report

SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}


def run(n_train):
    X_train, q_train, X_test, q_test = held_out_split(n_train, target="mulliken_charges")
    model = make_fchl19_atom_krr(representation__n_jobs=2, representation__elements=[*SYMBOLS])
    start = time.perf_counter()
    model.fit(X_train, q_train)
    fit_s = time.perf_counter() - start
    predicted = model.predict(X_test)
    Z_train, Z_test = X_train[:, :, 0], X_test[:, :, 0]
    element_mean = np.zeros_like(q_test)
    per_element = {}
    for z, symbol in SYMBOLS.items():
        atoms = Z_test == z
        seen = Z_train == z  # an element absent from training: the mean of all atoms
        element_mean[atoms] = q_train[seen].mean() if seen.any() else model.atom_mean_
        per_element[symbol] = float(np.abs(predicted - q_test)[atoms].mean())
    return {
        "n_train": n_train,
        "mae": mean_absolute_error(q_test, predicted, X=X_test),
        "element_mean_mae": mean_absolute_error(q_test, element_mean, X=X_test),
        "per_element": per_element,
        "sigma": {SYMBOLS[z]: krr.sigma_ for z, krr in model.regressors_.items()},
        "max_abs_total_charge": float(np.abs(predicted.sum(axis=1)).max()),
        "fit_s": fit_s,
        "load_average": os.getloadavg(),
        "date": now(),
    }


def report(results):
    lines = [
        "Test MAE (e) over the real atoms of the fixed held-out set of 2,000 QM9 molecules "
        "(`benchmarks/common.py`: never used for fitting or choices) of "
        "`make_fchl19_atom_krr()` fitted on N training molecules: FCHL19 environments, a "
        "Gaussian kernel between atoms of the same element, sigma and alpha by leave-one-out "
        "per element on the training atoms, charges shifted to sum to 0 per molecule. "
        "*element mean*: predicting each element's mean training charge (the mean of all "
        "training atoms for an element absent from training, as the model does). Load: 1-minute "
        "load average when the row finished (2 cores shared with other jobs).",
        "",
        "| N | MAE | element mean | H | C | N | O | F | max abs total charge | fit (s) | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(results.values(), key=lambda r: r["n_train"]):
        elements = " | ".join(f"{r['per_element'][s]:.4f}" for s in SYMBOLS.values())
        lines.append(
            f"| {r['n_train']:,} | {r['mae']:.4f} | {r['element_mean_mae']:.4f} | {elements} | "
            f"{r['max_abs_total_charge']:.1e} | {r['fit_s']:.0f} | {r['load_average'][0]:.1f} |"
        )
    write_report(
        "atomic_charges",
        "Mulliken charges by FCHL19 atomic KRR",
        "\n".join(lines),
        question="properties",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 300])
    parser.add_argument("--results", type=Path, default=RAW / "atomic_charges.json")
    args = parser.parse_args()
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    print(machine(), flush=True)
    for n_train in args.sizes:
        results[str(n_train)] = run(n_train)
        print(json.dumps(results[str(n_train)]), flush=True)
        args.results.write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
