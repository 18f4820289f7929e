"""Does learning other QM9 targets alongside the energy help ACN's U_atomization?

One ``ACNRegressor`` (defaults, the head of each target's kind) fitted on N molecules of
the fixed split to U_atomization plus auxiliary targets; prints one JSON line with the
test MAE of every target. Auxiliary targets are scaled by 1e-3 before fitting: the loss
standardises every target, so training is unchanged, while ``valid_mae`` (the mean of
the outputs' MAEs, which early stopping follows) is then U_atomization's almost alone.

Example (from the repository root)::

    python -m benchmarks.accuracy.ablation_acn_auxiliary_targets U_atomization,zpve,Cv,alpha 10000
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

from acn_sklearn import ACNRegressor
from benchmarks.common import held_out_split

AUXILIARY_SCALE = 1e-3


def main():
    targets = sys.argv[1].split(",")
    n_train = int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    X, y, X_test, y_test = held_out_split(n_train, target=targets)
    scale = np.array([1.0] + [AUXILIARY_SCALE] * (len(targets) - 1))
    start = time.perf_counter()
    model = ACNRegressor(
        radius=3.0, elements=(1, 6, 7, 8, 9), target=targets, random_state=seed, verbose=0
    )
    model.fit(X, y * scale)
    fit_s = time.perf_counter() - start
    mae = np.abs(model.predict(X_test) / scale - y_test).mean(axis=0)
    result = {
        "targets": targets,
        "n_train": n_train,
        "seed": seed,
        "heads": list(model.heads_),
        "test_mae": dict(zip(targets, mae.tolist(), strict=True)),
        "epochs": len(model.history),
        "fit_s": fit_s,
        "load": os.getloadavg(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
