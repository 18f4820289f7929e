"""Nystroem (landmark) KRR against exact KRR on QM9: test MAE, time and peak memory.

Each row (model, N, m) runs in a fresh process, so its peak resident memory
(``ru_maxrss``) is its own: fit on the first N molecules of the fixed training
pool, predict the 2,000 held-out test molecules (``common.held_out_split``).
``m = exact`` is exact KRR (``make_cm_krr`` / ``make_slatm_krr``) with the
Nystroem factory's fixed sigma and alpha, any number is Nystroem KRR with that
many landmarks (``make_cm_nystroem`` / ``make_slatm_nystroem``). Representations use
``n_jobs=2``. Rows accumulate in ``benchmarks/raw/nystroem.json`` (a rerun
replaces its row) and the rows of the report that are new go to the record
(``benchmarks/results.jsonl``), so long rows can run one command at a time::

    python -m benchmarks.kernels.bench_nystroem \\
        --rows cm:10000:exact cm:10000:2000 slatm:110000:3000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from acn_sklearn import (
    SLATM,
    CoulombMatrix,
    make_cm_krr,
    make_cm_nystroem,
    make_slatm_krr,
    make_slatm_nystroem,
)
from benchmarks.common import RAW, held_out_split, write_report
from benchmarks.common import command as run_command

QM9_ELEMENTS = (1, 6, 7, 8, 9)
RESULTS = RAW / "nystroem.json"
LABELS = {"cm": "CM", "slatm": "SLATM"}
#: The goal at N = 110,000: fit and predict within 20 minutes and 8 GB.
GOAL_N, GOAL_S, GOAL_BYTES = 110_000, 20 * 60, 8e9
REPRESENTATIONS = {"cm": CoulombMatrix, "slatm": SLATM}
#: Parameters exact KRR takes from the Nystroem factory: its default may be "auto".
EXACT_SHARED = ("krr__sigma", "krr__alpha")


def build(model: str, landmarks: str, cache: str | None):
    """The estimator of a row: exact KRR, or Nystroem with ``landmarks`` landmarks."""
    settings = {"n_jobs": 2, "elements": QM9_ELEMENTS, "memory": cache}
    factory = {"cm": make_cm_nystroem, "slatm": make_slatm_nystroem}[model]
    if landmarks == "exact":  # the same fixed sigma and alpha as the landmarks
        fixed = {k: v for k, v in factory().get_params().items() if k in EXACT_SHARED}
        exact = {"cm": make_cm_krr, "slatm": make_slatm_krr}[model]
        return exact(**fixed, **{f"{model}__{key}": value for key, value in settings.items()})
    return factory(
        krr__n_landmarks=int(landmarks),
        **{f"krr__representation__{key}": value for key, value in settings.items()},
    )


@contextlib.contextmanager
def timing_transform(cls):
    """Add the seconds spent in ``cls.transform`` (representations) to the yielded list."""
    spent = [0.0]
    transform = cls.transform

    def timed(self, X):
        start = time.perf_counter()
        try:
            return transform(self, X)
        finally:
            spent[0] += time.perf_counter() - start

    cls.transform = timed
    try:
        yield spent
    finally:
        cls.transform = transform


def run_row(model: str, n_train: int, landmarks: str, cache: str | None) -> dict:
    """Fit and predict one row in this process; return its measurements."""
    X_train, y_train, X_test, y_test = held_out_split(n_train)
    cached = cache is not None and any(Path(cache).rglob("*.npy"))
    estimator = build(model, landmarks, cache)
    with timing_transform(REPRESENTATIONS[model]) as represent_s:
        start = time.perf_counter()
        estimator.fit(X_train, y_train)
        fit_s = time.perf_counter() - start
        fit_represent_s = represent_s[0]
        start = time.perf_counter()
        prediction = estimator.predict(X_test)
        predict_s = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "model": model,
        "n_train": n_train,
        "landmarks": landmarks,
        "mae": float(np.mean(np.abs(prediction - y_test))),
        "fit_s": fit_s,
        "fit_represent_s": fit_represent_s,
        "predict_s": predict_s,
        "cached": cached,
        "peak_gib": peak / 2**30,
        "load": os.getloadavg()[0],
        "jitter": getattr(estimator[-1], "jitter_", None),
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| model | N | m | test MAE | vs exact | fit (s) | of which representations (s) "
        "| predict (s) | peak memory (GiB) | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    exact = {(r["model"], r["n_train"]): r["mae"] for r in rows if r["landmarks"] == "exact"}

    def order(r):  # by model, N, then exact KRR first and growing m
        return r["model"], r["n_train"], -1 if r["landmarks"] == "exact" else int(r["landmarks"])

    for r in sorted(rows, key=order):
        m = "exact" if r["landmarks"] == "exact" else f"{int(r['landmarks']):,}"
        reference = exact.get((r["model"], r["n_train"]))
        versus = "-" if reference is None or m == "exact" else f"{r['mae'] - reference:+.3f}"
        lines.append(
            f"| {LABELS[r['model']]} | {r['n_train']:,} | {m} | {r['mae']:.3f} | {versus} | "
            f"{r['fit_s']:.0f} | {r['fit_represent_s']:.0f}{' (cache)' if r['cached'] else ''} | "
            f"{r['predict_s']:.1f} | {r['peak_gib']:.2f} | {r['load']:.1f} |"
        )
    return "\n".join(lines)


def goals(rows: list[dict]) -> str:
    """Whether each N = 110,000 row met the time and memory goal, and by how much."""
    lines = []
    for r in rows:
        if r["n_train"] != GOAL_N:
            continue
        seconds, peak = r["fit_s"] + r["predict_s"], r["peak_gib"] * 2**30
        met = seconds <= GOAL_S and peak <= GOAL_BYTES
        lines.append(
            f"- {LABELS[r['model']]}, m = {int(r['landmarks']):,}: fit + predict "
            f"{seconds / 60:.1f} min (goal 20), peak {peak / 1e9:.2f} GB (goal 8): "
            f"{'met' if met else '**not met**'}"
        )
    return "\n".join(lines) or "- no N = 110,000 row yet"


def report(rows: list[dict]) -> None:
    commands = sorted({r["command"] for r in rows})
    body = (
        "Target U_atomization (298 K), kcal/mol; the fixed held-out test set of 2,000 "
        "QM9 molecules; training subsets are the first N of the training pool "
        "(`benchmarks/common.py`). *exact*: `make_cm_krr` / `make_slatm_krr`; a number m: "
        "`make_cm_nystroem` / `make_slatm_nystroem` with m landmarks (random, seed 0), the "
        "same kernel, sigma and alpha (CM: Laplacian, sigma 4000, alpha 1e-8, mean "
        "baseline; SLATM: Gaussian, sigma 500, alpha 1e-8), all after the per-element "
        "baseline. Representations with `n_jobs=2`, Nystroem blocks of 2,048 molecules. "
        "Each row is a fresh process; *peak memory* is its `ru_maxrss` (the loaded QM9 "
        "data set included, the joblib workers generating representations not), *load* "
        "the 1-minute load average when the row finished, on a 2-core machine shared "
        "with other jobs: times are wall-clock and pessimistic. *of which representations*: "
        "the part of the fit spent in the representation's `transform`; *(cache)*: read "
        "from a representation cache (`--cache`) that an earlier row filled, so the fit "
        "time lacks the generation of the representations.\n\n"
        "*vs exact*: test MAE minus exact KRR's at the same N, the approximation's cost.\n\n"
        f"{table(rows)}\n\n"
        "## Goal at N = 110,000: fit and predict within 20 minutes and 8 GB\n\n"
        f"{goals(rows)}\n\n"
        "Rows were produced by:\n\n" + "\n".join(f"- `{c}`" for c in commands)
    )
    write_report(
        "nystroem",
        "Nystroem KRR against exact KRR: accuracy, time, memory",
        body,
        question="kernels",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        nargs="*",
        default=[],
        help="model:N:m, m a number or 'exact'; none: rewrite the report from the results",
    )
    parser.add_argument(
        "--cache",
        help="folder caching representations across rows: rows that find it filled read "
        "them instead of generating them (marked '(cache)' in the report)",
    )
    parser.add_argument("--one", help="run one row in this process and print it as JSON")
    args = parser.parse_args(argv)
    if args.one:
        model, n_train, landmarks = args.one.split(":")
        print(json.dumps(run_row(model, int(n_train), landmarks, args.cache)))
        return
    command = run_command()
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for spec in args.rows:
        cache = ["--cache", args.cache] if args.cache else []
        done = subprocess.run(
            [sys.executable, "-m", __spec__.name, "--one", spec, *cache],
            check=True,
            capture_output=True,
            text=True,
        )
        row = {**json.loads(done.stdout.strip().splitlines()[-1]), "command": command}
        print(row, flush=True)
        key = (row["model"], row["n_train"], row["landmarks"])
        rows = [r for r in rows if (r["model"], r["n_train"], r["landmarks"]) != key] + [row]
        RESULTS.write_text(json.dumps(rows, indent=1) + "\n")
    report(rows)


if __name__ == "__main__":
    main()
