"""What each interaction layer of ACNRegressor costs: training and prediction throughput.

Example
-------
python -m benchmarks.speed.bench_acn_interactions_speed --n-train 2000 --n-predict 2000 --rounds 3

Fits the default network with ``n_interactions`` 0, 1 and 2 (default widths, one
torch thread) for a few epochs on the same QM9 molecules, the three settings
taking turns in each round so that a change of the machine's load falls on all
of them, and writes ``docs/benchmarks/acn_interactions_speed.md``: the training
molecules per second of every epoch after the first (validation pass included),
their median and best over the rounds, and prediction from raw coordinates.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from acn_sklearn import ACNRegressor
from benchmarks.common import held_out_split, write_report

SETTINGS = (0, 1, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-predict", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y, _, _ = held_out_split(args.n_train + args.n_predict)
    X_train, y_train, X_new = X[: args.n_train], y[: args.n_train], X[args.n_train :]
    n_fit = args.n_train - round(0.1 * args.n_train)
    train = {n: [] for n in SETTINGS}
    predict = {n: [] for n in SETTINGS}
    n_params = {}
    loads = [os.getloadavg()]
    for _ in range(args.rounds):
        for n in SETTINGS:
            model = ACNRegressor(max_epochs=args.epochs, random_state=0, n_interactions=n)
            model.fit(X_train, y_train)
            train[n] += [n_fit / d for d in model.history[1:, "dur"]]
            start = time.perf_counter()
            model.predict(X_new)
            predict[n].append(len(X_new) / (time.perf_counter() - start))
            n_params[n] = sum(p.numel() for _, p in model.get_all_learnable_params())
            loads.append(os.getloadavg())
    base = np.median(train[0])
    lines = [
        "| n_interactions | parameters | train molecules/s, median (best) | relative time per "
        "epoch | predict molecules/s, median (best) |",
        "|---|---|---|---|---|",
    ]
    for n in SETTINGS:
        rate = np.median(train[n])
        lines.append(
            f"| {n} | {n_params[n]:,} | {rate:,.0f} ({max(train[n]):,.0f}) | "
            f"{base / rate:.2f}x | {np.median(predict[n]):,.0f} ({max(predict[n]):,.0f}) |"
        )
    load_text = ", ".join(" ".join(f"{x:.1f}" for x in load) for load in loads)
    body = (
        f"Training: {args.epochs} epochs on {args.n_train:,} QM9 molecules ({n_fit:,} fitted, "
        f"validation pass included), epochs after the first, {args.rounds} rounds in which the "
        f"settings take turns; prediction of {args.n_predict:,} molecules from raw coordinates "
        "(featurization included). Default widths, one torch thread.\n\n"
        + "\n".join(lines)
        + f"\n\nLoad average (1, 5, 15 min) before and after each fit: {load_text}; the "
        "machine's 2 cores are shared with other jobs, so absolute rates vary between runs and "
        "only the rows of one run compare.\n"
    )
    write_report("acn_interactions_speed", "ACNRegressor: the cost of interaction layers", body)
    print(body)


if __name__ == "__main__":
    main()
