"""``acn-sklearn tune``: hyperparameter search with Optuna."""

from __future__ import annotations

import argparse
import sys

from ..registry import MODEL_NAMES
from ._common import add_protocol_arguments, data_source, load_data, positive_int, save_fitted

#: make_storage's defaults (acn_sklearn.tuning imports optuna: not at start-up).
HEARTBEAT_INTERVAL, MAX_RETRY = 60, 3


def run(args: argparse.Namespace) -> int:
    """Tune one model, refit the best configuration and score it on the held-out set."""
    import shlex
    from pathlib import Path

    import optuna

    from ..registry import format_model_spec, model_entry
    from ..study.protocol import held_out_split
    from ..tuning import (
        make_storage,
        open_study,
        report_trials,
        study_direction,
        tune_cv,
        tune_holdout,
        write_results,
    )

    # One line per trial with the MAE itself (report_trials), instead of optuna's log of
    # the study's creation and of negative scores.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    entry = model_entry(args.model)
    name = entry.name
    X, y, _, unit = load_data(args)
    train, test = held_out_split(
        len(X), args.n_train, n_test=args.n_test, test_seed=args.test_seed, repeat=args.repeat
    )
    out = Path(args.output or f"tune-{name}")
    out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{out / 'study.db'}"
    study_name = args.study_name or f"{name}-{args.target}-N{args.n_train}"
    network = entry.kind == "network"
    study = open_study(
        make_storage(storage, heartbeat_interval=args.heartbeat or None, max_retry=args.max_retry),
        study_name,
        direction=study_direction(args.model),
        resume=args.resume,
        seed=args.seed,
    )
    print(
        f"tuning {args.model} on {args.n_train:,} training molecules ({args.target}, {unit}); "
        f"study {study_name!r} in {storage} ({len(study.trials)} trial(s) so far); search: "
        f"{'validation MAE with pruning' if network else f'{args.cv}-fold CV MAE'}",
        file=sys.stderr,
    )
    budget = {
        "study": study,
        "n_trials": args.n_trials,
        "timeout": args.timeout,
        "callbacks": [report_trials(unit)],
        "target": args.target,
    }
    if network:
        result = tune_holdout(args.model, X[train], y[train], **budget)
    else:
        result = tune_cv(
            args.model,
            X[train],
            y[train],
            cv=args.cv,
            n_jobs=args.n_jobs,
            cache_dir=out / "representations",
            **budget,
        )
    test_mae = result.test_mae(X[test], y[test])
    info = {
        "target": args.target,
        "unit": unit,
        "n_train": args.n_train,
        "n_test": args.n_test,
        "test_seed": args.test_seed,
        "storage": storage,
    }
    paths = write_results(result, out, spec=args.model, test_mae=test_mae, info=info)
    best_spec = format_model_spec(args.model, **result.best_params)
    about = {"model": best_spec, "n_train": args.n_train, "data": data_source(args)}
    paths["best model"] = save_fitted(
        result.estimator, out / "best.model", X[train], target=args.target, unit=unit, info=about
    )
    print(
        f"best {result.best_params}\nsearch MAE {result.search_mae:.4g} {unit} (training data"
        f" only); held-out test MAE of the refitted best model {test_mae:.4g} {unit}\n"
        f"saved it as {paths['best model']}; the same model on a random subset of its own:\n"
        f"  {shlex.join(['acn-sklearn', 'fit', *_fit_arguments(args, best_spec)])}"
    )
    for label, path in paths.items():
        print(f"wrote {label}: {path}", file=sys.stderr)
    return 0


def _fit_arguments(args: argparse.Namespace, spec: str) -> list[str]:
    """The ``acn-sklearn fit`` arguments of model ``spec`` on the data the search used."""
    arguments = ["--model", spec, "--target", args.target, "--n-train", str(args.n_train)]
    if args.data:
        arguments += ["--data", *args.data]
    for option, value in (("--targets", args.targets), ("--unit", args.unit)):
        if value:
            arguments += [option, str(value)]
    return [*arguments, "-o", f"{spec.partition(':')[0]}.model"]


def register(commands) -> None:
    """Add the subcommand to the ``acn-sklearn`` parser."""
    tune = commands.add_parser(
        "tune",
        help="search hyperparameters with Optuna on training data only",
        description="Tune a model on N training molecules (the learning-curve protocol's "
        "training pool; the held-out test set is scored once, after the search). Kernel "
        "models: OptunaSearchCV with k-fold CV; acn: validation MAE per epoch with pruning. "
        "Several workers may share one study: run the same command (with --resume) in "
        "several processes on a storage for concurrent writers: journal:PATH on one "
        "machine, a PostgreSQL/MySQL URL across machines. --n-trials counts per worker. "
        "Writes the refitted best model to OUTPUT/best.model and prints the 'acn-sklearn "
        "fit' command of its spec.",
    )
    tune.add_argument(
        "--model",
        required=True,
        help=f"model spec: {', '.join(MODEL_NAMES)}; "
        "its parameters stay fixed, the search space's vary",
    )
    tune.add_argument(
        "--n-trials", type=positive_int, default=20, help="trials this process runs (default: 20)"
    )
    tune.add_argument(
        "--timeout",
        type=float,
        help="seconds of searching: no trial starts after it, and a network trial still "
        "running is pruned at the end of its epoch (the refit of the best model follows)",
    )
    tune.add_argument(
        "--n-train", type=positive_int, default=1000, help="training molecules (default: 1000)"
    )
    add_protocol_arguments(tune)
    tune.add_argument("--repeat", type=int, default=0, help="seed of the training subset")
    tune.add_argument("--cv", type=positive_int, default=5, help="CV folds (kernel models)")
    tune.add_argument(
        "--storage", help="Optuna storage URL, or journal:PATH (default: sqlite:///OUTPUT/study.db)"
    )
    tune.add_argument(
        "--heartbeat",
        type=int,
        default=HEARTBEAT_INTERVAL,
        metavar="SECONDS",
        help="database storages: a running trial records a heartbeat this often; a trial "
        "silent for twice as long (its worker killed) is run again by the next trial any "
        "worker starts; 0: no heartbeat (default: %(default)s)",
    )
    tune.add_argument(
        "--max-retry",
        type=int,
        default=MAX_RETRY,
        help="runs again of a trial whose worker died (default: %(default)s)",
    )
    tune.add_argument("--study-name", help="default: MODEL-TARGET-NN_TRAIN")
    tune.add_argument("--resume", action="store_true", help="add trials to an existing study")
    tune.add_argument(
        "--n-jobs", type=int, default=1, help="parallel trials in this process (kernel models)"
    )
    tune.add_argument("--seed", type=int, help="seed of the sampler")
    tune.add_argument("-o", "--output", help="output folder (default: tune-MODEL)")
    tune.set_defaults(run=run)
