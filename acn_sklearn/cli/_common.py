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


def add_protocol_arguments(parser: argparse.ArgumentParser) -> None:
    """The data and held-out-test arguments of learning-curve and tune."""
    parser.add_argument("--target", default="U_atomization", help="property to learn")
    parser.add_argument(
        "--data",
        metavar="XYZ",
        help="an (extended) xyz file whose molecules carry TARGET in their properties, "
        "instead of QM9",
    )
    parser.add_argument(
        "--n-test", type=positive_int, default=2000, help="held-out test molecules (default: 2000)"
    )
    parser.add_argument("--test-seed", type=int, default=0, help="seed of the test set")


def duration(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def read_named(paths: list[str]):
    """Molecules of several xyz files with a name each: its name/smiles property or file:frame."""
    from ..molecules import read_xyz

    molecules, names = [], []
    for path in paths:
        for frame, atoms in enumerate(read_xyz(path)):
            molecules.append(atoms)
            names.append(str(atoms.info.get("name", atoms.info.get("smiles", f"{path}:{frame}"))))
    return molecules, names


def dataset(paths: list[str] | None, target: str, targets_csv: str | None = None):
    """``X, y, names, unit`` from QM9, or from xyz files with the target in their properties
    (or in a CSV column, one row per molecule in file order)."""
    import numpy as np

    from ..datasets import TARGET_UNITS
    from ..molecules import check_molecules

    if not paths:
        from ..datasets import load_qm9

        qm9 = load_qm9(target=target)
        return qm9.data, qm9.target, qm9.smiles, qm9.target_units[target]
    molecules, names = read_named(paths)
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
    return check_molecules(molecules), y, np.array(names), TARGET_UNITS.get(target, "target units")
