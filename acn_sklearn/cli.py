"""The ``acn-sklearn`` command."""

from __future__ import annotations

import argparse
import sys

from . import __version__


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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``acn-sklearn`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        args.run(args)
    except (ValueError, ImportError, FileNotFoundError) as error:
        print(f"acn-sklearn {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
