"""ACN training throughput per epoch against the number of training molecules.

For each N: fit ``ACNRegressor`` (defaults, one torch thread) for a few epochs on
N molecules of the fixed split and report the training molecules per second of
each epoch (the molecules fitted over the epoch's duration, validation pass
included, as ``bench_acn.py`` counts them), next to the time the same epoch
spends only gathering its mini-batches from the stored features. The gap
between sizes, if any, shows whether the network or the memory traffic of a
larger feature store is what slows an epoch down.

Example (from the repository root)::

    python -m benchmarks.scaling.bench_acn_throughput --sizes 10000 110000 --epochs 3
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from acn_sklearn import ACNRegressor
from acn_sklearn.molecules import check_molecules
from benchmarks.common import held_out_split, write_report

ELEMENTS = (1, 6, 7, 8, 9)
HEADER = (
    "| N | fitted | training molecules/s per epoch | best | epoch (s) | gather (s) "
    "| featurize and setup (s) | load |"
)


def _gather_seconds(network, X, batch_size, epochs):
    """Seconds per epoch spent only gathering shuffled mini-batches of ``X``."""
    dataset = network._featurize(X)
    rng = np.random.default_rng(0)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for _batch in dataset.batches(batch_size, rng):
            pass
        seconds.append(time.perf_counter() - start)
    return seconds


def run(n_train, epochs):
    X, y, _, _ = held_out_split(n_train)
    X = check_molecules(X)
    load = os.getloadavg()[0]
    network = ACNRegressor(
        radius=3.0, elements=ELEMENTS, max_epochs=epochs, random_state=0, verbose=0
    )
    start = time.perf_counter()
    network.fit(X, y)
    fit_s = time.perf_counter() - start
    fitted = np.setdiff1d(np.arange(n_train), network.validation_indices_)
    n_fitted = len(fitted)
    durations = [float(d) for d in network.history[:, "dur"]]
    gather = _gather_seconds(network, X[fitted], network.batch_size, epochs)
    return {
        "n_train": n_train,
        "n_fitted": n_fitted,
        "throughput": [n_fitted / d for d in durations],
        "epoch_s": durations,
        "gather_s": gather,
        "featurize_and_setup_s": fit_s - sum(durations),
        "load": (load, os.getloadavg()[0]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 110000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tag", default="acn_throughput")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        r = run(n, args.epochs)
        print(r, flush=True)
        rows.append(
            f"| {r['n_train']:,} | {r['n_fitted']:,} | "
            f"{' / '.join(f'{t:,.0f}' for t in r['throughput'])} | "
            f"{max(r['throughput']):,.0f} | "
            f"{' / '.join(f'{s:.1f}' for s in r['epoch_s'])} | "
            f"{' / '.join(f'{s:.1f}' for s in r['gather_s'])} | "
            f"{r['featurize_and_setup_s']:.0f} | {r['load'][0]:.2f} / {r['load'][1]:.2f} |"
        )
    body = f"""
`ACNRegressor` with the package defaults (one torch thread), {args.epochs} epochs per
size, N molecules of the fixed split (10 % of them for validation). *Throughput*:
molecules fitted per second of each epoch, its validation pass included. *Gather*:
seconds per epoch spent only gathering the same number of shuffled mini-batches
from the stored features (no network). Load: 1-minute load average before and
after each size.

{HEADER}
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    write_report(args.tag, "ACN training throughput against N", body, question="scaling")


if __name__ == "__main__":
    main()
