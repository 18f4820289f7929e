"""The ``acn-sklearn`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .registry import MODEL_NAMES

DEFAULT_MODELS = ["cm", "slatm", "fchl19", "acn"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _data(args: argparse.Namespace) -> None:
    import numpy as np
    from ase.data import chemical_symbols

    from .datasets import load_qm9
    from .datasets._qm9 import QM9_PROPERTIES, TARGET_NAMES, UNITS
    from .molecules import n_atoms

    qm9 = load_qm9(target=None, data_home=args.data_home)
    Z = qm9.data[:, :, 0].astype(int)
    elements, counts = np.unique(Z[Z > 0], return_counts=True)
    sizes = n_atoms(qm9.data)
    print(
        f"QM9: {len(qm9.data):,} molecules, {sizes.sum():,} atoms "
        f"({sizes.min()} to {sizes.max()} per molecule, mean {sizes.mean():.1f})"
    )
    print(
        "elements: "
        + ", ".join(
            f"{chemical_symbols[z]} ({c:,} atoms)" for z, c in zip(elements, counts, strict=True)
        )
    )
    print(f"X: {qm9.data.shape} array of rows [Z, x, y, z] in Angstrom, zero-padded")
    print("targets:")
    for j, name in enumerate(TARGET_NAMES):
        y = qm9.target[:, j]
        about = (
            QM9_PROPERTIES[name][2]
            if name in QM9_PROPERTIES
            else (f"atomization energy from {name.split('_')[0]}")
        )
        print(f"  {name:15s} {UNITS[name]:12s} {y.mean():12.4g} +- {y.std():<10.4g} {about}")


PAPER_MODELS = ["cm", "slatm", "acn:radius=3", "acn:radius=4", "acn:radius=5"]
PAPER_SIZES = [100, 1000, 10000]


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def _read_named(paths: list[str]):
    """Molecules of several xyz files with a name each: its name/smiles property or file:frame."""
    from .molecules import read_xyz

    molecules, names = [], []
    for path in paths:
        for frame, atoms in enumerate(read_xyz(path)):
            molecules.append(atoms)
            names.append(str(atoms.info.get("name", atoms.info.get("smiles", f"{path}:{frame}"))))
    return molecules, names


def _dataset(paths: list[str] | None, target: str, targets_csv: str | None = None):
    """``X, y, names, unit`` from QM9, or from xyz files with the target in their properties
    (or in a CSV column, one row per molecule in file order)."""
    import numpy as np

    from .datasets._qm9 import UNITS
    from .molecules import check_molecules

    if not paths:
        from .datasets import load_qm9

        qm9 = load_qm9(target=target)
        return qm9.data, qm9.target, qm9.smiles, qm9.target_units[target]
    molecules, names = _read_named(paths)
    if targets_csv is not None:
        import pandas as pd

        table = pd.read_csv(targets_csv)
        if target not in table.columns:
            raise ValueError(
                f"{targets_csv} has no column {target!r}; it has {list(table.columns)}"
            )
        if len(table) != len(molecules):
            raise ValueError(
                f"{targets_csv} has {len(table)} rows but the xyz file(s) hold "
                f"{len(molecules)} molecules; they must match one to one"
            )
        y = table[target].to_numpy(float)
    else:
        missing = [i for i, atoms in enumerate(molecules) if target not in atoms.info]
        if missing:
            raise ValueError(
                f"molecule {missing[0]} ({names[missing[0]]}) has no property "
                f"{target!r} ({len(missing)} molecule(s) lack it)"
            )
        y = np.array([atoms.info[target] for atoms in molecules], dtype=float)
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise ValueError(f"molecule {bad[0]} ({names[bad[0]]}): target {target!r} is not finite")
    return check_molecules(molecules), y, np.array(names), UNITS.get(target, "target units")


def _fit(args: argparse.Namespace) -> int:
    import numpy as np

    from .persistence import SavedModel, save_model
    from .registry import make_model

    X, y, _, unit = _dataset(args.data, args.target, args.targets)
    source = " ".join(args.data) if args.data else "QM9"
    if not args.data or args.n_train is not None:
        n = args.n_train or 1000
        if n > len(X):
            raise ValueError(f"--n-train {n} is larger than the {len(X)} molecules available")
        rows = np.random.default_rng(args.random_state).permutation(len(X))[:n]
        X, y = X[rows], y[rows]
    model = make_model(args.model)
    print(
        f"fitting {args.model} on {len(X):,} molecules of {source} ({args.target}, {unit})",
        file=sys.stderr,
    )
    model.fit(X, y)
    info = {"model": args.model, "n_train": len(X), "data": source}
    path = save_model(SavedModel(model, args.target, unit, info=info), args.output)
    print(f"saved {path}", file=sys.stderr)
    return 0


def _predict(args: argparse.Namespace) -> int:
    import csv

    from .persistence import load_model

    saved = load_model(args.model)
    molecules, names = _read_named(args.molecules)
    prediction = saved.estimator.predict(molecules)
    header = ["name", f"{saved.target} ({saved.unit})"]
    handle = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(header)
        for name, value in zip(names, prediction, strict=True):
            writer.writerow([name, f"{float(value):.6f}"])
    finally:
        if args.output:
            handle.close()
            print(f"wrote {len(names)} predictions to {args.output}", file=sys.stderr)
    return 0


def _learning_curve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .learning_curve import run_cells
    from .reports import markdown_table, table_rows, write_outputs

    models = PAPER_MODELS if args.paper and args.models is None else args.models or DEFAULT_MODELS
    sizes = PAPER_SIZES if args.paper and args.sizes is None else args.sizes or [100, 1000]
    X, y, names, unit = _dataset(args.data and [args.data], args.target)
    out = Path(args.output)
    settings = {
        "models": models,
        "sizes": sizes,
        "repeats": args.repeats,
        "target": args.target,
        "n_test": args.n_test,
        "test_seed": args.test_seed,
        "data": args.data or "QM9",
    }
    print(
        f"learning curve of {args.target} ({unit}) on {settings['data']}: "
        f"models {', '.join(models)}; N = {', '.join(map(str, sizes))}; {args.repeats} repeat(s); "
        f"{args.n_test} held-out test molecules (seed {args.test_seed}); output {out}/",
        file=sys.stderr,
    )
    cells = []

    def progress(cell, done, total, elapsed):
        cells.append(cell)
        remaining = elapsed / done * (total - done)
        print(
            f"[{done:>3}/{total}] {cell.model:<14} N={cell.n_train:<6,} repeat {cell.repeat}  "
            f"MAE {cell.mae:8.3f} {unit}  fit {cell.fit_s:7.1f} s  predict "
            f"{cell.predict_s:6.1f} s{'  (cached)' if cell.cached else ''}  | elapsed "
            f"{_duration(elapsed)}, remaining ~{_duration(remaining)}",
            file=sys.stderr,
            flush=True,
        )

    interrupted = False
    try:
        run_cells(
            models,
            sizes,
            X,
            y,
            repeats=args.repeats,
            n_test=args.n_test,
            test_seed=args.test_seed,
            cache_dir=None if args.no_cache else out / "cache",
            on_cell=progress,
        )
    except KeyboardInterrupt:
        interrupted = True
        print(
            f"interrupted: writing the {len(cells)} finished cell(s); rerun the same "
            "command to continue",
            file=sys.stderr,
        )
    paths = write_outputs(
        cells,
        out,
        y=y,
        X=X,
        smiles=names,
        target=args.target,
        unit=unit,
        settings=settings | {"complete": not interrupted},
    )
    print(markdown_table(table_rows(cells), unit))
    for name, path in paths.items():
        print(f"wrote {name}: {path}", file=sys.stderr)
    return 130 if interrupted else 0


def _tune(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .learning_curve import held_out_split
    from .registry import parse_model_spec
    from .tuning import open_study, tune_cv, tune_holdout, write_results

    name, _ = parse_model_spec(args.model)
    X, y, _, unit = _dataset(args.data and [args.data], args.target)
    train, test = held_out_split(
        len(X), args.n_train, n_test=args.n_test, test_seed=args.test_seed, repeat=args.repeat
    )
    out = Path(args.output or f"tune-{name}")
    out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{out / 'study.db'}"
    study_name = args.study_name or f"{name}-{args.target}-N{args.n_train}"
    network = name == "acn"
    study = open_study(
        storage,
        study_name,
        direction="minimize" if network else "maximize",
        resume=args.resume,
        seed=args.seed,
    )
    print(
        f"tuning {args.model} on {args.n_train:,} training molecules ({args.target}, {unit}); "
        f"study {study_name!r} in {storage} ({len(study.trials)} trial(s) so far); search: "
        f"{'validation MAE with pruning' if network else f'{args.cv}-fold CV MAE'}",
        file=sys.stderr,
    )
    budget = {"study": study, "n_trials": args.n_trials, "timeout": args.timeout}
    if network:
        result = tune_holdout(args.model, X[train], y[train], **budget)
    else:
        result = tune_cv(args.model, X[train], y[train], cv=args.cv, n_jobs=args.n_jobs, **budget)
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
    print(
        f"best {result.best_params}\nsearch MAE {result.search_mae:.4g} {unit} (training data"
        f" only); held-out test MAE of the refitted best model {test_mae:.4g} {unit}"
    )
    for label, path in paths.items():
        print(f"wrote {label}: {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``acn-sklearn`` command."""
    parser = argparse.ArgumentParser(
        prog="acn-sklearn",
        description="AtomCloudNet and kernel baselines for molecular properties.",
    )
    parser.add_argument("--version", action="version", version=f"acn-sklearn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    data = commands.add_parser("data", help="summarise the built-in QM9 data")
    data.add_argument("--data-home", help="cache folder (default: $ACN_SKLEARN_DATA)")
    data.set_defaults(run=_data)

    curve = commands.add_parser(
        "learning-curve",
        help="test MAE against training-set size for several models (the paper's Table 1, "
        "Figures 4 and 5)",
        description="Fit every model at every training size on QM9 and score it on one "
        "fixed held-out test set. Finished cells are cached in OUTPUT/cache: rerunning "
        "the same command continues where it stopped.",
    )
    curve.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help=f"model specs: {', '.join(MODEL_NAMES)}, with parameters as in "
        f"'acn:radius=4' (default: {' '.join(DEFAULT_MODELS)})",
    )
    curve.add_argument(
        "--sizes",
        nargs="+",
        type=_positive_int,
        metavar="N",
        help="training-set sizes (default: 100 1000)",
    )
    curve.add_argument(
        "--repeats", type=_positive_int, default=1, help="training subsets per size (default: 1)"
    )
    curve.add_argument("--target", default="U_atomization", help="QM9 property")
    curve.add_argument(
        "--data",
        metavar="XYZ",
        help="an (extended) xyz file whose molecules carry TARGET in their "
        "properties, instead of QM9",
    )
    curve.add_argument(
        "--n-test", type=_positive_int, default=2000, help="held-out test molecules (default: 2000)"
    )
    curve.add_argument("--test-seed", type=int, default=0, help="seed of the test set")
    curve.add_argument("-o", "--output", default="learning_curve", help="output folder")
    curve.add_argument(
        "--paper",
        action="store_true",
        help=f"the paper's grid: models {' '.join(PAPER_MODELS)}, "
        f"N = {' '.join(map(str, PAPER_SIZES))}",
    )
    curve.add_argument("--no-cache", action="store_true", help="recompute every cell")
    curve.set_defaults(run=_learning_curve)

    fit = commands.add_parser(
        "fit",
        help="train a model on QM9 or on your molecules and save it",
        description="Train a model and save it with its target and unit. On QM9, a random "
        "subset of --n-train molecules; on your own .xyz/.extxyz files, every molecule, the "
        "target read from each molecule's properties or from a CSV column.",
    )
    fit.add_argument(
        "--model",
        required=True,
        help=f"model spec: {', '.join(MODEL_NAMES)}, with parameters as in 'acn:radius=4'",
    )
    fit.add_argument("--target", default="U_atomization", help="property to learn")
    fit.add_argument(
        "--n-train",
        type=_positive_int,
        help="training molecules (default: 1000 from QM9; all of --data)",
    )
    fit.add_argument("--data", nargs="+", metavar="XYZ", help="your molecules instead of QM9")
    fit.add_argument(
        "--targets",
        metavar="CSV",
        help="CSV with a TARGET column, one row per molecule of --data in order",
    )
    fit.add_argument("--random-state", type=int, default=0, help="seed of the QM9 subset")
    fit.add_argument("-o", "--output", required=True, help="model file to write")
    fit.set_defaults(run=_fit)

    predict = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict the saved model's target for molecules in .xyz/.extxyz files; "
        "writes CSV (name, prediction) to stdout or --output.",
    )
    predict.add_argument("model", help="model file written by 'acn-sklearn fit'")
    predict.add_argument("molecules", nargs="+", help=".xyz or .extxyz file(s)")
    predict.add_argument("-o", "--output", help="CSV file (default: standard output)")
    predict.set_defaults(run=_predict)

    tune = commands.add_parser(
        "tune",
        help="search hyperparameters with Optuna on training data only",
        description="Tune a model on N training molecules (the learning-curve protocol's "
        "training pool; the held-out test set is scored once, after the search). Kernel "
        "models: OptunaSearchCV with k-fold CV; acn: validation MAE per epoch with pruning. "
        "Several workers may share one study: run the same command (with --resume) in "
        "several processes on a storage for concurrent writers: journal:PATH on one "
        "machine, a PostgreSQL/MySQL URL across machines. --n-trials counts per worker.",
    )
    tune.add_argument(
        "--model",
        required=True,
        help=f"model spec: {', '.join(MODEL_NAMES)}; "
        "its parameters stay fixed, the search space's vary",
    )
    tune.add_argument(
        "--n-trials", type=_positive_int, default=20, help="trials this process runs (default: 20)"
    )
    tune.add_argument("--timeout", type=float, help="seconds after which no trial starts")
    tune.add_argument(
        "--n-train", type=_positive_int, default=1000, help="training molecules (default: 1000)"
    )
    tune.add_argument("--target", default="U_atomization", help="property to learn")
    tune.add_argument("--data", metavar="XYZ", help="your molecules instead of QM9")
    tune.add_argument(
        "--n-test", type=_positive_int, default=2000, help="held-out test molecules (default: 2000)"
    )
    tune.add_argument("--test-seed", type=int, default=0, help="seed of the test set")
    tune.add_argument("--repeat", type=int, default=0, help="seed of the training subset")
    tune.add_argument("--cv", type=_positive_int, default=5, help="CV folds (kernel models)")
    tune.add_argument(
        "--storage", help="Optuna storage URL, or journal:PATH (default: sqlite:///OUTPUT/study.db)"
    )
    tune.add_argument("--study-name", help="default: MODEL-TARGET-NN_TRAIN")
    tune.add_argument("--resume", action="store_true", help="add trials to an existing study")
    tune.add_argument(
        "--n-jobs", type=int, default=1, help="parallel trials in this process (kernel models)"
    )
    tune.add_argument("--seed", type=int, help="seed of the sampler")
    tune.add_argument("-o", "--output", help="output folder (default: tune-MODEL)")
    tune.set_defaults(run=_tune)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``acn-sklearn`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except (ValueError, ImportError, FileNotFoundError) as error:
        print(f"acn-sklearn {args.command}: error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
