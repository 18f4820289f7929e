"""What half-precision density storage costs: predictions of one network, both ways.

Fits ``ACNRegressor`` (defaults, 60 cosine epochs, seed 0) on N molecules of the
fixed split, then predicts the 2,000 test molecules twice: with the densities
stored as float16 (the package's storage) and as float32. The network is the
same, so every difference is the storage's rounding.

    python -m benchmarks.scaling.bench_density_precision --n-train 1000
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

import acn_sklearn.acn._data as data
from acn_sklearn import ACNRegressor
from benchmarks.common import held_out_split, write_report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=1000)
    args = parser.parse_args()
    X_train, y_train, X_test, y_test = held_out_split(args.n_train)
    model = ACNRegressor(max_epochs=60, lr_schedule="cosine", random_state=0)
    model.fit(X_train, y_train)
    predictions = {}
    for dtype in (torch.float16, torch.float32):
        data.DENSITY_DTYPE = dtype
        predictions[dtype] = model.predict(X_test)
    difference = np.abs(predictions[torch.float16] - predictions[torch.float32])
    mae = {d: np.abs(p - y_test).mean() for d, p in predictions.items()}
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    write_report(
        "density_precision",
        "ACN: half- against single-precision density storage",
        f"""
One network (defaults, 60 cosine epochs, seed 0) fitted on N = {args.n_train:,} molecules
with half-precision densities, then used to predict the {len(X_test):,} test molecules
with the densities stored either way. Load average at the end: {load}.

| quantity (kcal/mol) | value |
|---|---|
| test MAE, float16 storage | {mae[torch.float16]:.4f} |
| test MAE, float32 storage | {mae[torch.float32]:.4f} |
| prediction difference, mean | {difference.mean():.4f} |
| prediction difference, 99th percentile | {np.quantile(difference, 0.99):.4f} |
| prediction difference, largest | {difference.max():.4f} |

Predictions are float32 sums of about 2,000 kcal/mol, whose own rounding step is
2.4e-4 kcal/mol.
""",
        question="scaling",
    )


if __name__ == "__main__":
    main()
