"""``acn-sklearn data``: a summary of the built-in QM9 data."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> None:
    """Print molecule and atom counts, elements, and every target (per-atom too) with its unit."""
    import numpy as np
    from ase.data import chemical_symbols

    from ..datasets import QM9_PROPERTIES, TARGET_NAMES, TARGET_UNITS, load_qm9
    from ..datasets._qm9 import ATOMIC_TARGETS
    from ..molecules import n_atoms

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
        print(f"  {name:15s} {TARGET_UNITS[name]:12s} {y.mean():12.4g} +- {y.std():<10.4g} {about}")
    for name, unit in ATOMIC_TARGETS.items():
        y = qm9[name][Z > 0]
        about = f"one per atom: y of shape {qm9[name].shape}, aligned with X, 0 at padding"
        print(f"  {name:15s} {unit:12s} {y.mean():12.4g} +- {y.std():<10.4g} {about}")


def register(commands) -> None:
    """Add the subcommand to the ``acn-sklearn`` parser."""
    data = commands.add_parser(
        "data",
        help="summarise the built-in QM9 data",
        description="Summarise the built-in QM9 data: molecules, atoms and elements, the X "
        "array, and every target with its unit, mean and spread.",
    )
    data.add_argument("--data-home", help="cache folder (default: $ACN_SKLEARN_DATA)")
    data.set_defaults(run=run)
