"""ACN's property heads on the fixed QM9 held-out split: mu, homo, gap and Mulliken charges.

Examples
--------
python -m benchmarks.properties.bench_properties_acn --n-train 1000
python -m benchmarks.properties.bench_properties_acn --n-train 1000 --cells mu:dipole mu:extensive
python -m benchmarks.properties.bench_properties_acn --seeds 0 1 \\
    --cells homo:intensive homo:extensive

Every cell fits one network with the package defaults (``random_state`` one of
``--seeds``, 0 by default) on the
first N molecules of the benchmark's training pool and scores it on the 2,000
test molecules, which play no part in fitting or early stopping. A cell is a
target and a head (``mu:dipole``), or ``mulliken_charges:atomic`` for
:class:`~acn_sklearn.ACNAtomRegressor`. Finished cells are kept in
``benchmarks/raw/acn_heads.json`` so a rerun resumes; the report's
new rows go to the record (``benchmarks/results.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from acn_sklearn import ACNAtomRegressor, ACNRegressor
from acn_sklearn.datasets import TARGET_UNITS, load_qm9
from acn_sklearn.domain import DomainWarning
from acn_sklearn.molecules import elements_in
from acn_sklearn.scoring import mean_absolute_error
from acn_sklearn.study.protocol import held_out_split
from benchmarks.common import N_TEST, RAW, TEST_SEED, write_report

CELLS = [
    "mu:dipole",
    "mu:extensive",
    "mu:intensive",
    "homo:intensive",
    "homo:extensive",
    "gap:intensive",
    "gap:extensive",
    "mulliken_charges:atomic",
]
#: meV per hartree, for the orbital energies.
MEV_PER_HARTREE = 27211.386
RESULTS = RAW / "acn_heads.json"


def run_cell(cell: str, qm9, train, test, max_epochs: int, seed: int) -> dict:
    """Fit and score one cell; the test molecules are only predicted."""
    target, head = cell.split(":")
    X = qm9.data
    common = dict(random_state=seed, max_epochs=max_epochs, elements=tuple(elements_in(X)))
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    if head == "atomic":
        y = qm9.mulliken_charges
        model = ACNAtomRegressor(**common).fit(X[train], y[train])
        mae = mean_absolute_error(y[test], model.predict(X[test]), X=X[test])
        # The per-element mean charge of the training atoms alone.
        baseline = model.statistics_.element_baseline.numpy()[:, 0]
        species = np.searchsorted(model.elements_, X[test][:, :, 0].astype(int))
        real = X[test][:, :, 0] > 0
        reference = mean_absolute_error(y[test], np.where(real, baseline[species], 0), X=X[test])
        unit = "e"
    else:
        y = qm9.target[:, qm9.target_names.index(target)]
        model = ACNRegressor(target=target, head=head, **common).fit(X[train], y[train])
        mae = float(np.mean(np.abs(model.predict(X[test]) - y[test])))
        reference = float(np.mean(np.abs(y[train].mean() - y[test])))
        unit = TARGET_UNITS[target]
    return {
        "cell": cell,
        "seed": seed,
        "mae": mae,
        "reference_mae": reference,
        "unit": unit,
        "epochs": len(model.history),
        "best_valid_mae": float(min(model.history[:, "valid_mae"])),
        "fit_and_predict_s": time.perf_counter() - start,
        "load_1min": [load_before, os.getloadavg()[0]],
    }


def _value(result: dict, key: str) -> str:
    value = result[key]
    if result["unit"] == "hartree":
        return f"{value * MEV_PER_HARTREE:.1f} meV"
    return f"{value:.4f} {result['unit']}" if result["unit"] == "e" else f"{value:.3f} D"


def superseded(done: dict, n_train: int) -> str:
    """Cells of earlier versions of a head, kept in the JSON as ``"<variant>, <key>"``."""
    rows = []
    for key, r in done.items():
        variant, _, rest = key.rpartition(", ")
        if variant and rest.startswith(f"n{n_train} "):
            target = r["cell"].split(":")[0]
            rows.append(f"| {variant} | {target} | {r['seed']} | {_value(r, 'mae')} |")
    if not rows:
        return ""
    return (
        "\n\nEarlier versions of a head, measured the same way and replaced by the one "
        "above:\n\n| version | target | seed | test MAE |\n|---|---|---|---|\n" + "\n".join(rows)
    )


def report(results: list[dict], n_train: int) -> str:
    rows = [
        "| target | head | seed | test MAE | reference | best validation MAE | epochs | "
        "fit + predict (s) | load (1 min) before / after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target, head = r["cell"].split(":")
        rows.append(
            f"| {target} | {head} | {r['seed']} | **{_value(r, 'mae')}** | "
            f"{_value(r, 'reference_mae')} | "
            f"{_value(r, 'best_valid_mae')} | {r['epochs']} | {r['fit_and_predict_s']:.0f} | "
            f"{r['load_1min'][0]:.1f} / {r['load_1min'][1]:.1f} |"
        )
    return (
        f"ACNRegressor with each property head, and ACNAtomRegressor, at N = {n_train:,} "
        f"training molecules (10 % of them held out for early stopping) of the fixed "
        f"split (test: {N_TEST:,} molecules, seed {TEST_SEED}); package defaults, "
        "`random_state` = the seed, one thread. The table holds every cell measured "
        "at this N so far (`acn_heads.json`); the command above is the last run, which "
        "measured those of its cells that were missing.\n\n"
        "Reference: the training mean for every test molecule (molecular targets), or the "
        "mean training charge of each element for every test atom (Mulliken charges). "
        "MAE of the charges is over the real atoms of the test molecules.\n\n" + "\n".join(rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--cells", nargs="+", default=CELLS, choices=CELLS)
    parser.add_argument("--max-epochs", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    args = parser.parse_args()
    # Some test molecules hold a bond pair the training molecules lack; measuring them is
    # the point here.
    warnings.simplefilter("ignore", DomainWarning)
    qm9 = load_qm9(target=["mu", "homo", "gap"])
    train, test = held_out_split(
        len(qm9.data), args.n_train, n_test=N_TEST, test_seed=TEST_SEED, repeat=0
    )
    results = []
    for seed in args.seeds:
        for cell in args.cells:
            key = f"n{args.n_train} {cell} epochs{args.max_epochs} seed{seed}"
            done = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
            if key not in done:
                result = run_cell(cell, qm9, train, test, args.max_epochs, seed)
                # Merge into the file as it is now: another run may have added cells.
                done = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
                done[key] = result
                RESULTS.write_text(json.dumps(done, indent=1))
            print(done[key], flush=True)
    # The report shows every cell measured at this N so far, by any run of the script.
    done = json.loads(RESULTS.read_text())
    for cell in CELLS:
        for seed in sorted({r["seed"] for r in done.values()}):
            key = f"n{args.n_train} {cell} epochs{args.max_epochs} seed{seed}"
            if key in done:
                results.append(done[key])
    name = "acn_heads" if args.n_train == 1000 else f"acn_heads_n{args.n_train}"
    body = report(results, args.n_train) + superseded(done, args.n_train)
    write_report(name, f"ACN property heads, N = {args.n_train:,}", body, question="properties")


if __name__ == "__main__":
    main()
