"""Screen ACNRegressor settings: many small fits in parallel, paired over seeds.

Example
-------
python -m benchmarks.accuracy.screen_acn --n-train 1000 --workers 15 \\
    --data .gpu-data/qm9_U_atomization.npz
python -m benchmarks.accuracy.screen_acn --configs defaults gaussian --seeds 0 \\
    --n-train 200 --workers 2

Every candidate is fitted once per seed on the fixed held-out split of
``bench_acn.py`` (test seed 0, repeat 0), one torch thread per fit, ``--workers``
fits at a time; the seed sets the network's initialisation, its validation split
and its batches, so candidates are compared seed by seed. Candidates are ranked
by their **validation** MAE (the estimator's own 10 % split, which also drives early
stopping): the test MAE is reported beside it but chooses nothing. Fits are queued
seed by seed, so a run stopped at ``--deadline`` seconds has every candidate at the
same seeds. Writes ``screen_acn.jsonl`` (a row per fit) and ``screen_acn.md`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

#: Parameters of no decay for biases and the atom-type embedding (AdamW's default
#: group keeps ``optimizer__weight_decay``); skorch matches the names with fnmatch.
_NO_DECAY = [("*bias", {"weight_decay": 0.0}), ("embedding.*", {"weight_decay": 0.0})]
#: ... and none for the first cloud's radial weights either: decay on dense layers only.
_DENSE_ONLY = [*_NO_DECAY, ("cloud.*", {"weight_decay": 0.0})]

CANDIDATES: dict[str, dict] = {
    "defaults": {},
    "no_decay_bias_embedding": {"optimizer__param_groups": _NO_DECAY},
    "decay_dense_only": {"optimizer__param_groups": _DENSE_ONLY},
    "decay_dense_only_0.2": {
        "optimizer__param_groups": _DENSE_ONLY,
        "optimizer__weight_decay": 0.2,
    },
    "decay_dense_only_0.3": {
        "optimizer__param_groups": _DENSE_ONLY,
        "optimizer__weight_decay": 0.3,
    },
    "decay_0.05": {"optimizer__weight_decay": 0.05},
    "decay_0.15": {"optimizer__weight_decay": 0.15},
    "gaussian": {"radial_basis": "gaussian"},
    "lr_2e-3": {"lr": 2e-3},
    "cloud_channels_64": {"cloud_channels": 64},
    "n_radial_16": {"n_radial": 16},
    "embedding_dim_32": {"embedding_dim": 32},
    "atom_dim_192": {"atom_dim": 192},
    "slower_plateau": {"lr_patience": 40, "patience": 100},
}

#: Declared so that a small N without fluorine can still predict the test set.
QM9_ELEMENTS = (1, 6, 7, 8, 9)
_DATA: dict = {}


def _load(data: Path | None, n_train: int):
    """Training and test molecules of the fixed split, from an npz or from qm9pack."""
    from benchmarks.common import N_TEST, TEST_SEED, held_out_split, load_compact_qm9, split_indices

    if data is None:
        return held_out_split(n_train)
    X, y = load_compact_qm9(data)
    train, test = split_indices(len(X), n_train, n_test=N_TEST, test_seed=TEST_SEED, repeat=0)
    return X[train], y[train], X[test], y[test]


def _fit(name: str, seed: int, data: Path | None, n_train: int) -> dict:
    """Fit one candidate with one seed; its validation and test MAE."""
    from acn_sklearn import ACNRegressor

    if "split" not in _DATA:
        _DATA["split"] = _load(data, n_train)
    X_train, y_train, X_test, y_test = _DATA["split"]
    start = time.perf_counter()
    model = ACNRegressor(random_state=seed, elements=QM9_ELEMENTS, **CANDIDATES[name])
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    valid = np.asarray(model.history[:, "valid_mae"])
    return {
        "candidate": name,
        "seed": seed,
        "n_train": n_train,
        "valid_mae": float(valid.min()),
        "best_epoch": int(valid.argmin()) + 1,
        "epochs": len(valid),
        "test_mae": float(np.abs(model.predict(X_test) - y_test).mean()),
        "fit_seconds": seconds,
    }


def _fit_job(job: tuple) -> dict:
    return _fit(*job)


def _summary(rows: list[dict], seeds: list[int]) -> str:
    """Candidates ranked by mean validation MAE over the seeds every one finished."""
    done = {(r["candidate"], r["seed"]): r for r in rows}
    names = sorted({r["candidate"] for r in rows})
    common = [s for s in seeds if names and all((n, s) in done for n in names)]
    if not common:
        return "no seed finished for every candidate\n"
    lines = [
        f"Seeds every candidate finished: {common}. Ranked by mean validation MAE; "
        "paired differences against `defaults` are means over those seeds.",
        "",
        "| candidate | validation MAE (mean) | vs defaults | test MAE (mean) | vs defaults "
        "| test MAE per seed | epochs |",
        "|---|---:|---:|---:|---:|---|---|",
    ]

    def mean(name, key):
        return float(np.mean([done[name, s][key] for s in common]))

    has_base = "defaults" in names
    for name in sorted(names, key=lambda n: mean(n, "valid_mae")):
        per_seed = " / ".join(f"{done[name, s]['test_mae']:.3f}" for s in common)
        epochs = " / ".join(str(done[name, s]["epochs"]) for s in common)
        diff = {
            key: f"{100 * (mean(name, key) / mean('defaults', key) - 1):+.1f} %" if has_base else ""
            for key in ("valid_mae", "test_mae")
        }
        lines.append(
            f"| {name} | {mean(name, 'valid_mae'):.3f} | {diff['valid_mae']} | "
            f"{mean(name, 'test_mae'):.3f} | {diff['test_mae']} | {per_seed} | {epochs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--data", type=Path, default=None, help="compact QM9 npz (Z, R, y)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=7 * 24 * 3600.0, help="seconds")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "screen_out"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ["OMP_NUM_THREADS"] = "1"  # one thread per fit, in the workers too

    start = time.time()
    jobs = [(name, seed) for seed in args.seeds for name in args.configs]
    rows: list[dict] = []
    with open(args.out / "screen_acn.jsonl", "w") as log, Pool(args.workers) as pool:
        fits = pool.imap_unordered(_fit_job, [(n, s, args.data, args.n_train) for n, s in jobs])
        for _ in jobs:
            left = args.deadline - (time.time() - start)
            try:
                rows.append(fits.next(timeout=max(left, 0.001)))
            except multiprocessing.TimeoutError:
                print(f"deadline: {len(jobs) - len(rows)} fits not finished", flush=True)
                pool.terminate()
                break
            log.write(json.dumps(rows[-1]) + "\n")
            log.flush()
            print(json.dumps(rows[-1]), flush=True)
    summary = _summary(rows, args.seeds)
    header = (
        f"# ACNRegressor screen, N = {args.n_train}\n\n- date: "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start))}\n- machine: "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{args.workers} fits at a time, one thread each\n- wall time: "
        f"{time.time() - start:.0f} s\n\n"
    )
    (args.out / "screen_acn.md").write_text(header + summary)
    print(header + summary, flush=True)


if __name__ == "__main__":
    main()
