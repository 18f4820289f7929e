"""Cost of a fixed glibc trim threshold (what a Dask nanny gives its workers) for an ACN fit.

A Dask nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``. Setting any such
threshold switches off glibc's adaptive mmap threshold, so each tensor above 128 KiB is
mapped, zero-filled and unmapped again at every training step. This script fits the
same network in fresh processes with and without the variable, in turn, and reports the
fit time, the process's system time and its minor page faults.

Example
-------
python -m benchmarks.scaling.bench_malloc_trim --n-train 2000 --max-epochs 10 --repeats 3

Appends its table to the record (``benchmarks/results.jsonl``). One torch thread per fit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from benchmarks.common import ROOT, write_report

TRIM = {"MALLOC_TRIM_THRESHOLD_": "65536"}

FIT = """
import json, resource, time
from benchmarks.common import held_out_split
from acn_sklearn import ACNRegressor
X, y, _, _ = held_out_split({n_train})
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.perf_counter()
ACNRegressor(max_epochs={max_epochs}, random_state=0).fit(X, y)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"fit_s": time.perf_counter() - start,
                  "sys_s": after.ru_stime - before.ru_stime,
                  "user_s": after.ru_utime - before.ru_utime,
                  "page_faults": after.ru_minflt - before.ru_minflt}}))
"""


def fit_once(n_train: int, max_epochs: int, extra_env: dict) -> dict:
    """Fit in a fresh process (glibc reads the variable at start) and return its timings."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    env.update(OMP_NUM_THREADS="1", **extra_env)
    code = FIT.format(n_train=n_train, max_epochs=max_epochs)
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    load_before = os.getloadavg()[0]
    runs = {"glibc defaults": [], "MALLOC_TRIM_THRESHOLD_=65536": []}
    for _ in range(args.repeats):  # in turn, so a drift of the machine hits both
        runs["glibc defaults"].append(fit_once(args.n_train, args.max_epochs, {}))
        runs["MALLOC_TRIM_THRESHOLD_=65536"].append(fit_once(args.n_train, args.max_epochs, TRIM))
    load_after = os.getloadavg()[0]

    def median(name, key):
        return float(np.median([run[key] for run in runs[name]]))

    base = median("glibc defaults", "fit_s")
    rows = [
        f"| {name} | {median(name, 'fit_s'):.2f} | {median(name, 'fit_s') / base:.2f}x "
        f"| {median(name, 'sys_s'):.2f} | {median(name, 'user_s'):.2f} "
        f"| {median(name, 'page_faults'):,.0f} |"
        for name in runs
    ]
    body = f"""
`ACNRegressor(max_epochs={args.max_epochs}, random_state=0).fit` on {args.n_train:,} molecules
of the benchmark split (featurization included), one torch thread, in a fresh process
per fit; medians of {args.repeats} fits of each setting, run in turn.

| malloc setting | fit (s) | against defaults | system (s) | user (s) | minor page faults |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Load average (1 min) before: {load_before:.1f}, after: {load_after:.1f} on
{os.cpu_count()} cores.

The Dask nanny exports `MALLOC_TRIM_THRESHOLD_=65536` to every worker it starts
(`distributed.nanny.pre-spawn-environ`), so `acn-sklearn learning-curve --scheduler`
warns when its workers have it. To start workers without it, put
`MALLOC_TRIM_THRESHOLD_: null` under `distributed: nanny: pre-spawn-environ:` in a Dask
configuration file (for instance `~/.config/dask/no-trim.yaml`, or a folder named by
`DASK_CONFIG`).
"""
    write_report(
        "dask_malloc_trim", "A fixed glibc trim threshold and ACN fits", body, question="scaling"
    )


if __name__ == "__main__":
    main()
