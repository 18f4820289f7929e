"""ACNRegressor on the fixed QM9 held-out split: accuracy, fit time, throughput, memory.

Examples
--------
python benchmarks/bench_acn.py --n-train 1000 --tag n1000
python benchmarks/bench_acn.py --n-train 10000 --tag n10000 --max-epochs 400
python benchmarks/bench_acn.py --n-train 1000 --paper --radius 4 --tag paper_r4_n1000
python benchmarks/bench_acn.py --n-train 10000 --tag n10000_ensemble --members 4 --member-jobs 2
python benchmarks/bench_acn.py --n-train 10000 --tag n10000_seeds0-3 --average n10000_s0 n10000_s1
python benchmarks/bench_acn.py --n-train 10000 --tag n10000_r3_r4 --average n10000_s0 \
    docs/paper/results.json#acn:radius=4

Each run writes ``docs/benchmarks/acn_<tag>.md`` (date, machine, command, results) and
its test predictions to ``docs/benchmarks/predictions/acn_<tag>.npz``; ``--average``
scores the mean prediction of earlier runs (an ensemble of networks already fitted),
this script's or the cells of a learning-curve run (``RESULTS.json#MODEL``).
Target: U_atomization (298 K) in kcal/mol; the 2,000 test molecules are never
used for fitting, early stopping or choosing settings.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import torch
from common import DOCS, held_out_split, write_report
from joblib.externals.loky import get_reusable_executor

from acn_sklearn import ACNRegressor
from acn_sklearn.datasets import load_qm9
from acn_sklearn.ensemble import DeepEnsembleRegressor
from acn_sklearn.study.analysis import mae_by_element

#: The paper's configuration (see ACNRegressor's Notes).
PAPER = dict(
    n_clouds=1,
    pooling="power",
    pooling_power=2.0,
    output="sigmoid",
    potentials=True,
    embedding_dim=24,
    cloud_channels=4,
    n_radial=4,
    radial_basis="gaussian",
    cloud_order=3,
    criterion=torch.nn.MSELoss,
    optimizer=torch.optim.Adam,
    lr=5e-4,
    batch_size=72,
)


def _training_stats(network: ACNRegressor, n_train: int) -> dict:
    """Epochs, best validation MAE, throughput and size of one fitted network."""
    history = network.history
    n_fit = n_train - round(network.validation_fraction * n_train)
    seconds = np.array(history[:, "dur"])
    return {
        "n_fit": n_fit,
        "n_params": sum(p.numel() for _, p in network.get_all_learnable_params()),
        "epochs": len(history),
        "best_valid": min(history[:, "valid_mae"]) if network.validation_fraction else np.nan,
        "mean_rate": n_fit / seconds.mean(),
        "best_rate": n_fit / seconds.min(),
    }


PREDICTIONS = DOCS / "predictions"


def _saved_predictions(run: str, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """``y_pred, y_test`` of an earlier run: a tag of this script, or ``RESULTS.json#MODEL``.

    ``RESULTS.json#MODEL`` is the cell of that model at this N (repeat 0) of an
    ``acn-sklearn learning-curve`` run, e.g. ``../docs/paper/results.json#acn:radius=4``.
    """
    if "#" not in run:
        path = PREDICTIONS / f"acn_{run}.npz"
        if not path.exists():
            raise SystemExit(f"bench_acn.py: no saved predictions of run {run!r} ({path})")
        with np.load(path) as saved:
            return saved["y_pred"], saved["y_test"]
    path, model = run.split("#", 1)
    with open(path) as f:
        results = json.load(f)
    for cell in results["cells"]:
        if (cell["model"], cell["n_train"], cell["repeat"]) == (model, n_train, 0):
            y = load_qm9(target=results["target"], return_X_y=True)[1]
            return np.asarray(cell["predictions"]), y[np.asarray(cell["test_indices"])]
    raise SystemExit(f"bench_acn.py: {path} has no cell of {model!r} at N = {n_train}")


def _average(runs: list[str], y_test: np.ndarray, n_train: int) -> str:
    """Report body for the mean prediction of the earlier ``runs``."""
    members = []
    for run in runs:
        y_pred, y_scored = _saved_predictions(run, n_train)
        if not np.array_equal(y_scored, y_test):
            raise SystemExit(f"bench_acn.py: run {run!r} was scored on another test set")
        members.append(y_pred)
    maes = [float(np.abs(y - y_test).mean()) for y in members]
    mae = float(np.abs(np.mean(members, axis=0) - y_test).mean())
    each = f"{', '.join(f'{m:.3f}' for m in maes)} (mean {np.mean(maes):.3f})"
    return f"""
The mean prediction of {len(runs)} networks fitted earlier (runs {", ".join(runs)}: a tag's
report is `acn_<tag>.md`, a `#` names a learning-curve cell); nothing was fitted here.

| quantity | value |
|---|---|
| test molecules | {len(y_test):,} |
| **test MAE of the mean prediction, U_atomization (kcal/mol)** | **{mae:.3f}** |
| test MAE of each network alone (kcal/mol) | {each} |
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, required=True)
    parser.add_argument("--tag", required=True, help="report name: docs/benchmarks/acn_<tag>.md")
    parser.add_argument("--paper", action="store_true", help="the paper's configuration")
    parser.add_argument("--radius", type=float, default=3.0)
    parser.add_argument("--max-epochs", type=int, help="default: the package's")
    parser.add_argument(
        "--params",
        default="{}",
        help='further ACNRegressor params, JSON; "optimizer" names a torch.optim class',
    )
    parser.add_argument("--members", type=int, default=1, help="> 1: a DeepEnsembleRegressor")
    parser.add_argument("--member-jobs", type=int, default=None, help="members fitted at once")
    parser.add_argument(
        "--average",
        nargs="+",
        metavar="RUN",
        help="score the mean prediction of these runs: tags, or RESULTS.json#MODEL cells",
    )
    args = parser.parse_args()

    X_train, y_train, X_test, y_test = held_out_split(args.n_train)
    if args.average:
        body = _average(args.average, y_test, args.n_train)
        write_report(f"acn_{args.tag}", f"ACNRegressor runs averaged, N = {len(X_train):,}", body)
        print(body)
        return
    params = dict(PAPER) if args.paper else {}
    params.update(radius=args.radius, random_state=0, verbose=2)
    if args.max_epochs is not None:
        params.update(max_epochs=args.max_epochs)
    params.update(json.loads(args.params))
    if isinstance(params.get("optimizer"), str):  # e.g. "AdamW": a torch.optim class by name
        params["optimizer"] = getattr(torch.optim, params["optimizer"])
    if args.members > 1:
        params.pop("random_state")
        model = DeepEnsembleRegressor(
            ACNRegressor(**params), n_members=args.members, random_state=0, n_jobs=args.member_jobs
        )
    else:
        model = ACNRegressor(**params)

    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    get_reusable_executor().shutdown(wait=True)  # member processes end: their memory is counted
    start = time.perf_counter()
    y_pred = model.predict(X_test)
    predict_seconds = time.perf_counter() - start

    networks = model.estimators_ if args.members > 1 else [model]
    stats = [_training_stats(net, len(X_train)) for net in networks]
    mae = float(np.abs(y_pred - y_test).mean())
    by_element = ", ".join(
        f"{symbol} {e['mae']:.3f} ({e['n_molecules']})"
        for symbol, e in mae_by_element(X_test, y_test, y_pred).items()
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    predict_rate = len(X_test) / predict_seconds
    shown = {k: (v.__name__ if isinstance(v, type) else v) for k, v in params.items()}
    n_fit = stats[0]["n_fit"]
    if args.members > 1:
        member_maes = [float(np.abs(net.predict(X_test) - y_test).mean()) for net in networks]
        what = (
            f"A `DeepEnsembleRegressor` of {args.members} networks (seeds 0-{args.members - 1}, "
            f"{args.member_jobs or 1} fitted at a time), each with"
        )
        member_rows = (
            f"| test MAE of each member alone (kcal/mol) | "
            f"{', '.join(f'{m:.3f}' for m in member_maes)} (mean {np.mean(member_maes):.3f}) |\n"
        )
        memory = f"{peak_mb:,.0f} main process" + (
            f", {child_mb:,.0f} largest member process" if child_mb else ""
        )
    else:
        what, member_rows, memory = "Configuration:", "", f"{peak_mb:,.0f}"

    def per_net(key, fmt):
        return ", ".join(format(s[key], fmt) for s in stats)

    body = f"""
{what} {"the paper's" if args.paper else "package defaults"} plus parameters `{shown}`
(all other parameters at their defaults), {stats[0]["n_params"]:,} trainable parameters per network.

| quantity | value |
|---|---|
| training molecules N | {len(X_train):,} (of which {n_fit:,} fitted, the rest validation) |
| **test MAE, U_atomization (kcal/mol)** | **{mae:.3f}** |
{member_rows}| test MAE over the molecules containing each element (number) | {by_element} |
| best validation MAE (kcal/mol) | {per_net("best_valid", ".3f")} |
| epochs run (best restored) | {per_net("epochs", "d")} |
| fit wall time, featurization included (s) | {fit_seconds:.1f} |
| training throughput, mean over epochs (molecules/s) | {per_net("mean_rate", ",.0f")} |
| training throughput, fastest epoch (molecules/s) | {per_net("best_rate", ",.0f")} |
| prediction from raw coordinates, {len(X_test):,} molecules (molecules/s) | {predict_rate:,.0f} |
| peak resident memory (MB) | {memory} |
| load average at the end (1, 5, 15 min) | {" ".join(f"{x:.1f}" for x in os.getloadavg())} |

Training throughput counts the training molecules of an epoch over the epoch's
duration including its validation pass. The machine's 2 cores are shared with
other jobs; a load average above 2 means this run competed for them.
"""
    write_report(f"acn_{args.tag}", f"ACNRegressor, QM9 U_atomization, N = {len(X_train):,}", body)
    PREDICTIONS.mkdir(exist_ok=True)
    np.savez(PREDICTIONS / f"acn_{args.tag}.npz", y_pred=y_pred, y_test=y_test)
    print(body)


if __name__ == "__main__":
    main()
