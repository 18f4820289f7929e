"""What several subcommands share: argument types, data sources, durations."""

from __future__ import annotations

import argparse

from ..registry import MODEL_NAMES

MODEL_HELP = f"model spec: {', '.join(MODEL_NAMES)}, with parameters as in 'acn:radius=4'"


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--target``, ``--data`` and ``--targets``: the same in every subcommand."""
    parser.add_argument(
        "--target",
        default="U_atomization",
        help="property to learn (default: %(default)s); mulliken_charges is one value per "
        "atom (model acn_atom)",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        metavar="XYZ",
        help="your molecules instead of QM9: (extended) xyz files whose molecules carry "
        "TARGET in their properties, or see --targets",
    )
    parser.add_argument(
        "--targets",
        metavar="CSV",
        help="CSV with a TARGET column, one row per molecule of --data in order",
    )
    parser.add_argument(
        "--unit",
        help="unit of TARGET in --data, as reports and predictions name it, e.g. eV "
        "(default: the QM9 unit of a QM9 property name, else 'target units')",
    )


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """The data and held-out-test arguments of learning-curve and tune."""
    add_data_arguments(parser)
    parser.add_argument(
        "--n-test", type=positive_int, default=2000, help="held-out test molecules (default: 2000)"
    )
    parser.add_argument(
        "--test-seed", type=int, default=0, help="seed of the test set (default: %(default)s)"
    )


def load_data(args: argparse.Namespace):
    """``X, y, names, unit`` from QM9, or from ``--data`` (and ``--targets``)."""
    if args.data:
        from ..datasets import load_xyz

        data = load_xyz(args.data, args.target, targets_csv=args.targets, unit=args.unit)
        return data.data, data.target, data.names, data.target_units
    if args.targets:
        raise ValueError("--targets needs --data: the CSV holds targets of your molecules")
    if args.unit:
        raise ValueError("--unit names the unit of your own targets (--data); QM9's are known")
    from ..datasets import TARGET_KINDS, load_qm9

    if TARGET_KINDS.get(args.target) == "atomic_charges":
        # One charge per atom, (n_molecules, 29), aligned with the molecules.
        qm9 = load_qm9(target=None)
        return qm9.data, getattr(qm9, args.target), qm9.smiles, "e"
    qm9 = load_qm9(target=args.target)
    return qm9.data, qm9.target, qm9.smiles, qm9.target_units[args.target]


def save_fitted(model, path, X, *, target: str, unit: str, info: dict, std: bool = False):
    """Save a fitted model with its target and unit, as ``acn-sklearn fit`` does.

    A kernel model is saved with its training molecules ``X`` (in the order of its
    fit) instead of their representations (SLATM at N = 10,000: 957 MB), which it
    rebuilds when it predicts, unless ``std`` keeps what its standard deviations need.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    from sklearn.pipeline import Pipeline

    from ..kernel_ridge import KernelRidgeRegressor
    from ..persistence import SavedModel, save_model

    kernel = isinstance(model, Pipeline) and isinstance(model[-1], KernelRidgeRegressor)
    saved = SavedModel(model, target, unit, info=info)
    return save_model(saved, path, molecules=X if kernel and not std else None)


def data_source(args: argparse.Namespace) -> str:
    """Where the molecules come from, for messages and reports."""
    return " ".join(args.data) if args.data else "QM9"


def duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
