"""Training speed of one ACN fit on one and on two torch threads (``n_jobs``).

Fits the default network on N training molecules for a few epochs with ``n_jobs=1``
and ``n_jobs=2``, taking turns, and records the median epoch time of each (epochs
after the first). Appends one record row per setting (question ``scaling``).

Example
-------
python -m benchmarks.scaling.bench_two_cores --n-train 1000 --epochs 6 --rounds 2
"""

from __future__ import annotations

import argparse
import statistics

from acn_sklearn import ACNRegressor


def main() -> None:
    from benchmarks.common import append_record, held_out_split

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    X, y, _, _ = held_out_split(args.n_train)
    epochs = {1: [], 2: []}
    for _ in range(args.rounds):
        for n_jobs in epochs:
            model = ACNRegressor(max_epochs=args.epochs, n_jobs=n_jobs, random_state=0, verbose=0)
            epochs[n_jobs] += list(model.fit(X, y).history[1:, "dur"])
    one = statistics.median(epochs[1])
    for n_jobs, durations in epochs.items():
        median = statistics.median(durations)
        append_record(
            {
                "id": f"two_cores_n{args.n_train}_jobs{n_jobs}",
                "question": "scaling",
                "title": "One ACN fit on one and two torch threads",
                "params": {"n_jobs": n_jobs},
                "n_train": args.n_train,
                "metrics": {
                    "epoch_s_median": round(median, 3),
                    "training_molecules_per_s": round(0.9 * args.n_train / median),
                    "speed_up": round(one / median, 2),
                },
            }
        )
        print(f"n_jobs={n_jobs}: median epoch {median:.3f} s, speed-up {one / median:.2f}x")


if __name__ == "__main__":
    main()
