"""Size on disk, load time and predict memory of saved kernel models, full against compact.

For each row (model, N), one process fits the model on the first N molecules of
the fixed training pool (``common.held_out_split``) and saves it twice: in full
(``save_model`` without molecules: the training representations pickled) and
compact (``save_model(..., molecules=X_train)``: the training molecules, their
representations rebuilt at prediction). Then, for each file, a fresh process
loads it and predicts 3 held-out test molecules, and reports its load time,
predict time and peak resident memory (``VmHWM``, the imports included).
The compact model's predictions are compared with the full model's. Rows
accumulate in ``benchmarks/raw/model_size.json`` and the rows of the
report that are new go to the record (``benchmarks/results.jsonl``)::

    python -m benchmarks.kernels.bench_model_size \\
        --rows slatm:1000 fchl19:1000 slatm:10000 fchl19:10000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from acn_sklearn.persistence import SavedModel, save_model
from acn_sklearn.registry import make_model
from benchmarks.common import RAW, held_out_split, write_report

RESULTS = RAW / "model_size.json"
LABELS = {"cm": "CM", "slatm": "SLATM", "fchl19": "FCHL19"}
N_PREDICT = 3

#: Run in a fresh process per file: load, predict N_PREDICT test molecules, measure.
PREDICT = r"""
import json, re, sys, time, tracemalloc
from pathlib import Path
import numpy as np
from acn_sklearn.persistence import load_model

def peak_rss():  # VmHWM, unlike ru_maxrss, does not inherit the parent's peak across exec
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024

X = np.load(sys.argv[2])
imported = peak_rss()
tracemalloc.start()
start = time.perf_counter()
model = load_model(sys.argv[1]).estimator
loaded = time.perf_counter()
prediction = model.predict(X)
done = time.perf_counter()
traced = tracemalloc.get_traced_memory()[1]
np.save(sys.argv[3], prediction)
peak = peak_rss()
print(json.dumps({"load_s": loaded - start, "predict_s": done - loaded, "peak_gib": peak / 2**30,
                  "imported_gib": imported / 2**30, "traced_gib": traced / 2**30}))
"""


def measure(path: Path, X_path: Path, out: Path) -> dict:
    """Load and predict in a fresh process; its times and peak memory."""
    result = subprocess.run(
        [sys.executable, "-c", PREDICT, str(path), str(X_path), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_row(model: str, n_train: int, folder: Path) -> dict:
    """Fit, save both ways and measure both files."""
    import numpy as np

    X_train, y_train, X_test, _ = held_out_split(n_train)
    start = time.perf_counter()
    estimator = make_model(model).fit(X_train, y_train)
    fit_s = time.perf_counter() - start
    saved = SavedModel(estimator, "U_atomization", "kcal/mol")
    X_path = folder / "X.npy"
    np.save(X_path, X_test[:N_PREDICT])
    row = {"model": model, "n_train": n_train, "fit_s": fit_s}
    predictions = {}
    for kind, molecules in (("full", None), ("compact", X_train)):
        path = folder / f"{model}-{n_train}-{kind}.model"
        start = time.perf_counter()
        save_model(saved, path, molecules=molecules)
        row[f"{kind}_save_s"] = time.perf_counter() - start
        row[f"{kind}_mb"] = path.stat().st_size / 1e6
        out = folder / f"{kind}.npy"
        row.update({f"{kind}_{k}": v for k, v in measure(path, X_path, out).items()})
        predictions[kind] = np.load(out)
        path.unlink()
    full, compact = predictions["full"], predictions["compact"]
    row["max_abs_diff"] = float(np.max(np.abs(compact - full)))
    row["max_rel_diff"] = float(np.max(np.abs(compact - full) / np.abs(full)))
    row["load"] = os.getloadavg()[0]
    return row


def table(rows: list[dict]) -> str:
    lines = [
        "| model | N | file, full (MB) | file, compact (MB) | load, full (s) "
        "| load, compact (s) | predict 3, full (s) | predict 3, compact (s) "
        "| peak memory, full (GiB) | peak memory, compact (GiB) | traced, full (GiB) "
        "| traced, compact (GiB) | max difference (kcal/mol) | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["model"], r["n_train"])):
        lines.append(
            f"| {LABELS[r['model']]} | {r['n_train']:,} | {r['full_mb']:.1f} | "
            f"{r['compact_mb']:.1f} | {r['full_load_s']:.2f} | {r['compact_load_s']:.2f} | "
            f"{r['full_predict_s']:.2f} | {r['compact_predict_s']:.2f} | "
            f"{r['full_peak_gib']:.2f} | {r['compact_peak_gib']:.2f} | "
            f"{r['full_traced_gib']:.3f} | {r['compact_traced_gib']:.3f} | "
            f"{r['max_abs_diff']:.1e} | {r['load']:.1f} |"
        )
    return "\n".join(lines)


BODY = """
Saved kernel models on the fixed split (`benchmarks/common.py`), target
U_atomization (kcal/mol), the factories' defaults (sigma and alpha by
leave-one-out). *full*: `save_model` without molecules, the pickled pipeline with
its training representations (`X_fit_`, float64); *compact*: `save_model(...,
molecules=X_train)`, the training molecules instead, whose representations
`CompactKernelRidge` rebuilds in blocks of 1,024 molecules at every `predict`.
*load*: `load_model` (reading, checksum, unpickling); *predict 3*: `predict` of 3
held-out molecules right after loading (for the compact model, this includes
representing all N training molecules on one core); *peak memory*: the
process's peak resident memory (`VmHWM`), which includes the interpreter and
the imports ({imported:.2f} GiB before loading); *traced*: the peak of the
memory allocated by Python and numpy while loading and predicting
(`tracemalloc`; the Fortran representation code's own buffers are not traced).
Each file is loaded in a fresh process. *max difference*: the largest
|compact - full| of the 3 predictions (the order of the block sums). *load
avg*: 1-minute load average of the 2-core machine, shared with other jobs, when
the row finished: times are wall-clock.

{table}

Goal (issue 15): a SLATM/FCHL19 model at N = 10,000 in at most 100 MB on disk,
predicting a few molecules in at most 1 GB of memory:

{goals}

The price of the compact file is time: every `predict` call represents all N
training molecules again, on one core (the representation's `n_jobs`), so
predicting a few molecules takes about as long as representing the training
set: on an idle core of this machine (load 0.2), 0.7 ms a molecule for FCHL19
and 2.3 ms for SLATM (200 molecules timed), so about 7 s and 23 s at
N = 10,000; longer here under the load shown.
"""


def goals(rows: list[dict]) -> str:
    """Whether each N = 10,000 row of SLATM and FCHL19 met the size and memory goal."""
    lines = []
    for r in sorted(rows, key=lambda r: r["model"]):
        if r["n_train"] != 10_000 or r["model"] not in ("slatm", "fchl19"):
            continue
        met = r["compact_mb"] <= 100 and r["compact_peak_gib"] * 2**30 <= 1e9
        lines.append(
            f"- {LABELS[r['model']]}: {r['compact_mb']:.1f} MB, predicting in "
            f"{r['compact_peak_gib']:.2f} GiB peak (full: {r['full_mb']:.0f} MB, "
            f"{r['full_peak_gib']:.2f} GiB): {'met' if met else 'missed'}"
        )
    return "\n".join(lines) or "- no N = 10,000 row measured yet"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=[], help="MODEL:N, e.g. slatm:10000")
    args = parser.parse_args()
    rows = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    for spec in args.rows:
        model, n_train = spec.split(":")
        with tempfile.TemporaryDirectory() as folder:
            row = run_row(model, int(n_train), Path(folder))
        print(json.dumps(row), flush=True)
        rows = [r for r in rows if (r["model"], r["n_train"]) != (model, int(n_train))]
        rows.append(row)
        RESULTS.write_text(json.dumps(rows, indent=1) + "\n")
    imported = max(r["compact_imported_gib"] for r in rows)
    body = BODY.format(table=table(rows), imported=imported, goals=goals(rows))
    write_report("model_size", "Saved kernel model size", body, question="kernels")


if __name__ == "__main__":
    main()
