"""FCHL19 representation parameters compared by leave-one-out MAE on training molecules only.

For each setting (JSON dicts of FCHL19 parameters, ``{}`` for qmllib's defaults)
and training size N of the fixed QM9 split: fit ``make_fchl19_krr`` with the
representation changed and ``krr__sigma="auto", krr__alpha="auto"``, and record the
closed-form leave-one-out MAE at the chosen sigma and alpha. The test molecules are
never loaded into the model. Results accumulate in a JSON file; every run rewrites
the record (``benchmarks/results.jsonl``).

Run: ``python -m benchmarks.kernels.select_fchl19_representation --n 1000
--settings '{}' '{"rcut": 5.0}'``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from acn_sklearn import make_fchl19_krr
from benchmarks.common import held_out_split, write_report


def loo(n_train, settings, cache):
    X, y, _, _ = held_out_split(n_train)
    model = make_fchl19_krr(
        krr__sigma="auto",
        krr__alpha="auto",
        fchl19__n_jobs=2,
        fchl19__memory=cache,
        **{f"fchl19__{k}": v for k, v in settings.items()},
    )
    start = time.perf_counter()
    model.fit(X, y)
    krr = model[-1]
    result = {
        "n_train": n_train,
        "settings": settings,
        "loo_mae": krr.loo_mae_,
        "sigma": krr.sigma_,
        "alpha": krr.alpha_,
        "candidates": len(krr.cv_results_["loo_mae"]),
        "fit_s": time.perf_counter() - start,
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result), flush=True)
    return result


def report(results):
    rows = sorted(results.values(), key=lambda r: (r["n_train"], r["loo_mae"]))
    lines = [
        "Leave-one-out MAE (kcal/mol, U_atomization) of FCHL19 + local Gaussian kernel ridge "
        "regression on the first N molecules of the training pool (`held_out_split`, repeat "
        '0), sigma and alpha chosen by the same leave-one-out (`krr__sigma="auto", '
        'krr__alpha="auto"`); the test set is not used. *settings*: the FCHL19 parameters '
        "changed from qmllib's defaults (nRs2=24, nRs3=20, eta2=0.32, eta3=2.7, zeta=pi, "
        "rcut=8, acut=8, two_body_decay=1.8, three_body_decay=0.57, three_body_weight=13.4). "
        "Fit time includes generating the representation unless it was in the cache (2 "
        "cores, shared; load = 1-minute load average).",
        "",
        "| N | settings | LOO MAE | sigma | alpha | candidates | fit (s) | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
        lines.append(
            f"| {r['n_train']:,} | {settings} | {r['loo_mae']:.3f} | {r['sigma']:.3g} | "
            f"{r['alpha']:.2g} | {r['candidates']} | {r['fit_s']:.0f} | "
            f"{r['load_average'][0]:.1f} |"
        )
    title = "FCHL19 representation parameters by leave-one-out"
    write_report("fchl19_representation", title, "\n".join(lines), question="kernels")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[1000])
    parser.add_argument("--settings", type=json.loads, nargs="+", default=[{}])
    parser.add_argument("--cache", default=None, help="per-molecule representation cache")
    parser.add_argument("--results", type=Path, default=Path("/tmp/fchl19_representation.json"))
    args = parser.parse_args()
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    for n_train in args.n:
        for settings in args.settings:
            entry = loo(n_train, settings, args.cache)
            results[f"{n_train}/{json.dumps(settings, sort_keys=True)}"] = entry
            args.results.write_text(json.dumps(results, indent=1))
            report(results)


if __name__ == "__main__":
    main()
