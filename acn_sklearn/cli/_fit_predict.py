"""``acn-sklearn fit`` and ``predict``: train, save, and predict for your molecules."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ._common import (
    MODEL_HELP,
    add_data_arguments,
    data_source,
    load_data,
    positive_int,
    save_fitted,
)


def run_fit(args: argparse.Namespace) -> int:
    """Fit a model on QM9 or the user's molecules and save it with its target and unit."""
    from ..molecules import elements_in
    from ..registry import make_model, model_entry, set_elements, set_target

    params = {}
    if model_entry(args.model).kind == "network":
        if args.checkpoint:
            params["checkpoint_dir"] = args.checkpoint
    elif args.checkpoint:
        raise ValueError("--checkpoint is for networks; kernel models fit in one step")
    X, y, _, unit = load_data(args)
    source = data_source(args)
    # The model accepts every element of the data set, not only those of its subset.
    elements = elements_in(X)
    if not args.data or args.n_train is not None:
        n = args.n_train or 1000
        if n > len(X):
            raise ValueError(f"--n-train {n} is larger than the {len(X)} molecules available")
        rows = np.random.default_rng(args.random_state).permutation(len(X))[:n]
        X, y = X[rows], y[rows]
    # Models that build the target's kind into their output read its name (ACN's heads).
    model = set_target(set_elements(make_model(args.model, **params), elements), args.target)
    print(
        f"fitting {args.model} on {len(X):,} molecules of {source} ({args.target}, {unit})",
        file=sys.stderr,
    )
    model.fit(X, y)
    if getattr(model, "interrupted_", False):
        where = (
            f"the fit so far is in {args.checkpoint}: run the same command again to resume"
            if args.checkpoint
            else "nothing saved (with --checkpoint DIR a fit can resume)"
        )
        print(f"interrupted; {where}", file=sys.stderr)
        return 130
    info = {"model": args.model, "n_train": len(X), "data": source}
    path = save_fitted(
        model, args.output, X, target=args.target, unit=unit, info=info, std=args.std
    )
    print(f"saved {path}", file=sys.stderr)
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """Write the saved model's predictions for xyz files as CSV: one row per molecule,
    or per atom for a model of atomic values (its predictions have one column per atom).

    A molecule the model refuses (an element it was not fitted on, two atoms on top
    of each other) gets an empty value and its reason, the others their predictions,
    and the exit status is 2; with ``--strict``, nothing is written and it is 1."""
    import csv
    import warnings

    from ..datasets import load_xyz
    from ..domain import DomainWarning
    from ..molecules import predict_valid
    from ..persistence import load_model

    saved = load_model(args.model, trusted=args.trusted)
    molecules = load_xyz(args.molecules, validate=False)
    names = molecules.names
    # One name per molecule on stderr: its file and frame, and the name the CSV gives it.
    labels = [
        location if name == location else f"{location} ({name})"
        for location, name in zip(molecules.locations, names, strict=True)
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DomainWarning)
        prediction, reasons = predict_valid(
            saved.estimator, molecules.data, **({"return_std": True} if args.std else {})
        )
    prediction, std = prediction if args.std else (prediction, None)
    for warning in caught:  # one line per reason, naming the molecules
        if issubclass(warning.category, DomainWarning):
            print(f"warning: {warning.message.describe(labels)}", file=sys.stderr)
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    failed = [i for i, reason in enumerate(reasons) if reason]
    for i in failed:
        print(f"warning: {labels[i]}: not predicted: {reasons[i]}", file=sys.stderr)
    if failed and args.strict:
        raise ValueError(
            f"{len(failed)} of {len(names)} molecules cannot be predicted (--strict: "
            "nothing written)"
        )
    if args.output and args.output.endswith(".extxyz"):
        _write_extxyz(args.output, molecules, saved.target, prediction, std, reasons)
        print(
            f"wrote {len(names)} molecules, {len(names) - len(failed)} with predictions, to "
            f"{args.output}",
            file=sys.stderr,
        )
        return 2 if failed else 0
    value_column = f"{saved.target} ({saved.unit})"
    if prediction.ndim == 2:
        header = ["molecule", "name", "atom", "element", value_column]
        header += [] if std is None else [f"std ({saved.unit})"]
        rows = _atom_rows(molecules.data, names, prediction, std, reasons)
    else:
        header = ["name", value_column] + ([] if std is None else [f"std ({saved.unit})"])
        columns = [prediction] if std is None else [prediction, std]
        rows = (
            [name, *map(_value, values), reason or ""]
            for name, reason, *values in zip(names, reasons, *columns, strict=True)
        )
    handle = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow([*header, "reason"])
        writer.writerows(rows)
    finally:
        if args.output:
            handle.close()
            print(
                f"wrote {len(names) - len(failed)} molecules' predictions to {args.output}",
                file=sys.stderr,
            )
    if failed:
        print(
            f"{len(failed)} of {len(names)} molecules not predicted (empty values, their "
            "reason in the CSV)",
            file=sys.stderr,
        )
        return 2
    return 0


def _write_extxyz(path, molecules, target, prediction, std, reasons) -> None:
    """The molecules with their predictions, as MACE's evaluation writes them: in each
    frame's info (``target``, ``target_std``), or per atom for a model of atomic values;
    a molecule not predicted has its ``reason`` instead."""
    from ase.io import write

    from ..molecules import to_atoms

    frames = to_atoms(molecules.data)
    for i, atoms in enumerate(frames):
        atoms.info["name"] = str(molecules.names[i])
        if reasons[i]:
            atoms.info["reason"] = reasons[i]
            continue
        values = {target: prediction[i]} | ({} if std is None else {f"{target}_std": std[i]})
        for key, value in values.items():
            if prediction.ndim == 2:
                atoms.arrays[key] = value[: len(atoms)]
            else:
                atoms.info[key] = float(value)
    write(path, frames, format="extxyz")


def _value(value) -> str:
    """A CSV cell: six decimals, empty for a molecule not predicted (NaN)."""
    return "" if np.isnan(value) else f"{float(value):.6f}"


def _atom_rows(X, names, prediction, std, reasons):
    """CSV rows (molecule index, name, atom index, element, value[, std], reason) of every
    real atom."""
    from ase.data import chemical_symbols

    for m, a in zip(*(X[:, :, 0] > 0).nonzero(), strict=True):
        element = chemical_symbols[int(X[m, a, 0])]
        values = [prediction[m, a]] if std is None else [prediction[m, a], std[m, a]]
        yield [int(m), names[m], int(a), element, *map(_value, values), reasons[m] or ""]


def register(commands) -> None:
    """Add the subcommand to the ``acn-sklearn`` parser."""
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
        help=MODEL_HELP,
    )
    add_data_arguments(fit)
    fit.add_argument(
        "--n-train",
        type=positive_int,
        help="training molecules (default: 1000 from QM9; all of --data)",
    )
    fit.add_argument(
        "--random-state", type=int, default=0, help="seed of the subset (default: %(default)s)"
    )
    fit.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="networks: save the training state in DIR after every epoch; run the same "
        "command again to resume an interrupted fit (or to get a finished one back)",
    )
    fit.add_argument(
        "--std",
        action="store_true",
        help="kernel models: keep what 'predict --std' needs (the N x N inverse Cholesky "
        "factor: 800 MB at N = 10,000) instead of saving the model compactly. Compactly, a "
        "SLATM model of 1,000 QM9 molecules takes 1.0 MB (103.7 MB with --std); its first "
        "predict in a process represents the training molecules again (3.5 s for 6 "
        "molecules), the next ones reuse them (0.07 s; 0.04 s with --std): measured on a "
        "2-core Xeon at load 1.7",
    )
    fit.add_argument("-o", "--output", required=True, help="model file to write")
    fit.set_defaults(run=run_fit)

    predict = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict the saved model's target for molecules in .xyz/.extxyz files; "
        "writes CSV (name, prediction, reason) to stdout or --output. A molecule the model "
        "cannot predict (an element it was not fitted on, atoms on top of each other) gets "
        "an empty prediction, its reason in the CSV and a warning naming it by file:frame "
        "(name); the other molecules are predicted and the exit status is 2.",
    )
    predict.add_argument("model", help="model file written by 'acn-sklearn fit'")
    predict.add_argument("molecules", nargs="+", help=".xyz or .extxyz file(s)")
    predict.add_argument(
        "-o",
        "--output",
        help="CSV file (default: standard output); a .extxyz file gets the molecules with "
        "their predictions in each frame's info, named after the target (and TARGET_std "
        "with --std; per atom for a model of atomic values), as MACE's evaluation writes them",
    )
    predict.add_argument(
        "--std",
        action="store_true",
        help="also write each prediction's calibrated standard deviation, and warn about "
        "molecules whose uncertainty is far above that of held-out molecules",
    )
    predict.add_argument(
        "--trusted",
        action="store_true",
        help="also load a model file of the older pickle format, which runs the code it "
        "holds: only for files from a source you trust",
    )
    predict.add_argument(
        "--strict",
        action="store_true",
        help="all or nothing: if any molecule cannot be predicted, write nothing and exit 1",
    )
    predict.set_defaults(run=run_predict)
