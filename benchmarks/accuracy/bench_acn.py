"""ACNRegressor on the fixed QM9 held-out split: accuracy, fit time, throughput, memory.

Examples (from the repository root)
-----------------------------------
python -m benchmarks.accuracy.bench_acn --config acn_default            # every seed of it
python -m benchmarks.accuracy.bench_acn --config acn_n1000_r4 --seed 1
python -m benchmarks.accuracy.bench_acn --config acn_default --n-train 1000 --seed 0
python -m benchmarks.accuracy.bench_acn --n-train 1000 --tag n1000_lr --params '{"lr": 2e-3}'
python -m benchmarks.accuracy.bench_acn --n-train 10000 --tag n10000_r3_r4 \\
    --average acn_n10000_bessel_seed0 docs/paper/results.json#acn:radius=4

A configuration is ``benchmarks/configs/<name>.toml``: ``n_train``, ``seeds``,
optionally ``members`` (> 1: a ``DeepEnsembleRegressor``) and ``paper = true`` (the
paper's configuration), and a ``[params]`` table of ``ACNRegressor`` parameters on
top of the package defaults. Each run appends a row to the record
(``benchmarks/results.jsonl``, id ``<config>_seed<S>`` or ``acn_<tag>``) and saves
its test predictions to ``benchmarks/predictions/<id>.npz``; ``--average`` scores
the mean prediction of earlier runs (an ensemble of networks already fitted):
record ids of this script, or cells of a learning-curve run (``RESULTS.json#MODEL``).
Target: U_atomization (298 K) in kcal/mol; the 2,000 test molecules are never
used for fitting, early stopping or choosing settings.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np
import torch
from joblib.externals.loky import get_reusable_executor

from acn_sklearn import ACNRegressor
from acn_sklearn.datasets import load_qm9
from acn_sklearn.ensemble import DeepEnsembleRegressor
from acn_sklearn.study.analysis import mae_by_element
from benchmarks.common import PREDICTIONS, held_out_split, load_config, write_report

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


def _saved_predictions(run: str, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """``y_pred, y_test`` of an earlier run: a record id of this script, or ``RESULTS.json#MODEL``.

    ``RESULTS.json#MODEL`` is the cell of that model at this N (repeat 0) of an
    ``acn-sklearn learning-curve`` run, e.g. ``docs/paper/results.json#acn:radius=4``.
    """
    if "#" not in run:
        path = PREDICTIONS / f"{run}.npz"
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


def _average(runs: list[str], y_test: np.ndarray, n_train: int) -> tuple[str, dict]:
    """Report body and metrics of the mean prediction of the earlier ``runs``."""
    members = []
    for run in runs:
        y_pred, y_scored = _saved_predictions(run, n_train)
        if not np.array_equal(y_scored, y_test):
            raise SystemExit(f"bench_acn.py: run {run!r} was scored on another test set")
        members.append(y_pred)
    maes = [round(float(np.abs(y - y_test).mean()), 3) for y in members]
    mae = round(float(np.abs(np.mean(members, axis=0) - y_test).mean()), 3)
    body = f"""
The mean prediction of {len(runs)} networks fitted earlier (runs {", ".join(runs)}: a
record id, or a `#` naming a learning-curve cell); nothing was fitted here.

| quantity | value |
|---|---|
| test molecules | {len(y_test):,} |
| **test MAE of the mean prediction, U_atomization (kcal/mol)** | **{mae:.3f}** |
| test MAE of each network alone (kcal/mol) | {", ".join(f"{m:.3f}" for m in maes)} |
"""
    return body, {"n_test": len(y_test), "test_mae": mae, "member_test_mae": maes}


def _runs(args) -> list[dict]:
    """The runs the command line asks for: id, N, seed, parameters, members, paper."""
    config = load_config(args.config) if args.config else {"params": {}, "seeds": [0]}
    n_train = args.n_train or config.get("n_train")
    if n_train is None:
        raise SystemExit("bench_acn.py: give --n-train or a --config")
    params = dict(PAPER) if config.get("paper") or args.paper else {}
    params.update(config["params"])
    if args.max_epochs is not None:
        params.update(max_epochs=args.max_epochs)
    params.update(json.loads(args.params))
    members = args.members or config.get("members", 1)
    size = f"_n{n_train}" if n_train != config.get("n_train") else ""
    seeds = [args.seed] if args.seed is not None else config["seeds"]
    return [
        {
            "id": f"acn_{args.tag}" if args.tag else f"{args.config}{size}_seed{seed}",
            "n_train": n_train,
            "seed": seed,
            "params": params,
            "members": members,
        }
        for seed in seeds
    ]


def _fit_and_score(run: dict, config: str | None, member_jobs: int | None) -> None:
    """Fit one network or ensemble, record it and save its test predictions."""
    X_train, y_train, X_test, y_test = held_out_split(run["n_train"])
    params = {"random_state": run["seed"], "verbose": 2, **run["params"]}
    if isinstance(params.get("optimizer"), str):  # e.g. "AdamW": a torch.optim class by name
        params["optimizer"] = getattr(torch.optim, params["optimizer"])
    n_members = run["members"]
    if n_members > 1:
        seed = params.pop("random_state")
        model = DeepEnsembleRegressor(
            ACNRegressor(**params), n_members=n_members, random_state=seed, n_jobs=member_jobs
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

    networks = model.estimators_ if n_members > 1 else [model]
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

    def per_net(key, digits):
        values = [round(float(s[key]), digits or None) for s in stats]
        return values if n_members > 1 else values[0]

    metrics = {
        "test_mae": round(mae, 3),
        "test_mae_by_element": by_element,
        "valid_mae": per_net("best_valid", 3),
        "epochs": per_net("epochs", 0),
        "fit_s": round(fit_seconds, 1),
        "molecules_per_s": per_net("mean_rate", 0),
        "molecules_per_s_best": per_net("best_rate", 0),
        "predict_molecules_per_s": round(predict_rate),
        "peak_mb": round(peak_mb),
    }
    if n_members > 1:
        member_maes = [float(np.abs(net.predict(X_test) - y_test).mean()) for net in networks]
        metrics["member_test_mae"] = [round(m, 3) for m in member_maes]
        metrics["member_peak_mb"] = round(child_mb)
        what = (
            f"A `DeepEnsembleRegressor` of {n_members} networks ({member_jobs or 1} fitted "
            "at a time), each with"
        )
        member_rows = (
            f"| test MAE of each member alone (kcal/mol) | "
            f"{', '.join(f'{m:.3f}' for m in member_maes)} (mean {np.mean(member_maes):.3f}) |\n"
        )
        memory = f"{peak_mb:,.0f} main process, {child_mb:,.0f} largest member process"
    else:
        what, member_rows, memory = "Configuration:", "", f"{peak_mb:,.0f}"

    def shown_per_net(key, fmt):
        return ", ".join(format(s[key], fmt) for s in stats)

    body = f"""
{what} package defaults plus parameters `{shown}`
(all other parameters at their defaults), {stats[0]["n_params"]:,} trainable parameters per network.

| quantity | value |
|---|---|
| training molecules N | {len(X_train):,} (of which {n_fit:,} fitted, the rest validation) |
| **test MAE, U_atomization (kcal/mol)** | **{mae:.3f}** |
{member_rows}| test MAE over the molecules containing each element (number) | {by_element} |
| best validation MAE (kcal/mol) | {shown_per_net("best_valid", ".3f")} |
| epochs run (best restored) | {shown_per_net("epochs", "d")} |
| fit wall time, featurization included (s) | {fit_seconds:.1f} |
| training throughput, mean over epochs (molecules/s) | {shown_per_net("mean_rate", ",.0f")} |
| training throughput, fastest epoch (molecules/s) | {shown_per_net("best_rate", ",.0f")} |
| prediction from raw coordinates, {len(X_test):,} molecules (molecules/s) | {predict_rate:,.0f} |
| peak resident memory (MB) | {memory} |

Training throughput counts the training molecules of an epoch over the epoch's
duration including its validation pass.
"""
    write_report(
        run["id"],
        f"ACNRegressor, QM9 U_atomization, N = {len(X_train):,}",
        body,
        question="accuracy",
        metrics=metrics,
        config=config,
        params=shown,
        n_train=run["n_train"],
        seed=run["seed"],
        **({"members": n_members} if n_members > 1 else {}),
    )
    PREDICTIONS.mkdir(exist_ok=True)
    np.savez(PREDICTIONS / f"{run['id']}.npz", y_pred=y_pred, y_test=y_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a configuration: benchmarks/configs/<CONFIG>.toml")
    parser.add_argument("--seed", type=int, help="default: every seed of the configuration")
    parser.add_argument("--n-train", type=int, help="default: the configuration's")
    parser.add_argument("--tag", help="record id acn_<TAG> (default: <config>_seed<S>)")
    parser.add_argument("--paper", action="store_true", help="the paper's configuration")
    parser.add_argument("--max-epochs", type=int, help="default: the package's")
    parser.add_argument(
        "--params",
        default="{}",
        help='further ACNRegressor params, JSON; "optimizer" names a torch.optim class',
    )
    parser.add_argument("--members", type=int, help="> 1: a DeepEnsembleRegressor")
    parser.add_argument("--member-jobs", type=int, default=None, help="members fitted at once")
    parser.add_argument(
        "--average",
        nargs="+",
        metavar="RUN",
        help="score the mean prediction of these runs: record ids, or RESULTS.json#MODEL cells",
    )
    args = parser.parse_args()
    if not (args.config or args.tag):
        parser.error("give --config or --tag")

    if args.average:
        if not (args.tag and args.n_train):
            parser.error("--average needs --tag and --n-train")
        y_test = held_out_split(args.n_train)[3]
        body, metrics = _average(args.average, y_test, args.n_train)
        title = f"ACNRegressor runs averaged, N = {args.n_train:,}"
        write_report(
            f"acn_{args.tag}",
            title,
            body,
            question="accuracy",
            metrics=metrics,
            n_train=args.n_train,
            averaged=args.average,
        )
        return
    for run in _runs(args):
        _fit_and_score(run, args.config, args.member_jobs)


if __name__ == "__main__":
    main()
