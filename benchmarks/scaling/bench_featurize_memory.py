"""Memory of ACN featurization per training molecule, chunked against one pass.

Each measurement runs in a fresh process: load QM9, take the first N molecules of
the training pool (the learning-curve protocol), featurize them and compute their
training statistics as ``fit`` does (default settings, one cloud), and report the
peak resident memory above what the loaded data set already held, the bytes the
stored features keep, and the time. ``--one-pass`` sizes featurize everything in
one chunk (the behaviour before chunking).

    python -m benchmarks.scaling.bench_featurize_memory --sizes 10000 30000 128831 --one-pass
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from benchmarks.common import write_report

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads(1)
import acn_sklearn.acn._data as data
from acn_sklearn import ACNRegressor
from acn_sklearn.acn._statistics import training_statistics
from acn_sklearn.datasets import load_qm9
from acn_sklearn.molecules import element_counts
from acn_sklearn.study.protocol import held_out_split

n, chunk = int(sys.argv[1]), int(sys.argv[2])
X, y = load_qm9(target="U_atomization", return_X_y=True)
train, _ = held_out_split(len(X), n, n_test=2000, test_seed=0, repeat=0)
X, y = np.ascontiguousarray(X[train]), y[train, None]
elements = np.array([1, 6, 7, 8, 9])
p = ACNRegressor().get_params()

def rss():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))

before = rss()
data.FEATURIZE_CHUNK = chunk
start = time.perf_counter()
ds = data.featurize(X, y, elements=elements, radius=p["radius"], cloud_order=p["cloud_order"],
                    n_radial=p["n_radial"], pair_degrees=0)
training_statistics(ds, y, element_counts(X, elements), cloud_order=p["cloud_order"],
                    n_radial=p["n_radial"], output="linear", heads=("extensive",))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
stored = sum(a.numel() * a.element_size() for a in ds.arrays.values())
print(json.dumps({"n": n, "chunk": chunk, "before": before, "peak": peak, "stored": stored,
                  "seconds": seconds}))
"""


def measure(n: int, chunk: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000, 128831])
    parser.add_argument("--one-pass", type=int, nargs="*", default=[10000, 30000])
    args = parser.parse_args()
    from acn_sklearn.acn._data import FEATURIZE_CHUNK

    runs = [(n, FEATURIZE_CHUNK) for n in args.sizes] + [(n, n) for n in args.one_pass]
    rows = []
    for n, chunk in runs:
        r = measure(n, chunk)
        extra = r["peak"] - r["before"]
        rows.append(
            f"| {n:,} | {'one pass' if chunk >= n else f'chunks of {chunk:,}'} | "
            f"{extra / 2**30:.2f} | {extra / n / 1e3:.1f} | {r['stored'] / n / 1e3:.1f} | "
            f"{r['seconds']:.1f} |"
        )
        print(rows[-1], flush=True)
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    write_report(
        "featurize_memory",
        "ACN featurization: memory per training molecule",
        "Default settings of ACNRegressor (one cloud: densities in half precision, no "
        "neighbour list kept), QM9 U_atomization training pool; featurization and the "
        "training statistics, as `fit` computes them before its first epoch. *peak*: "
        "resident memory above the loaded data set at the peak; *stored*: what the "
        "features keep afterwards. Each row is a fresh process; one CPU thread. "
        f"Load average at the end: {load}.\n\n"
        "| N | featurized | peak (GiB) | peak per molecule (kB) | stored per molecule (kB) "
        "| time (s) |\n|---:|---|---:|---:|---:|---:|\n" + "\n".join(rows),
        question="scaling",
    )


if __name__ == "__main__":
    main()
