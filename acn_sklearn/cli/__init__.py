"""The ``acn-sklearn`` command: one module per subcommand."""

from __future__ import annotations

import argparse
import shlex
import sys

from .. import __version__
from . import _data, _fit_predict, _learning_curve, _tune

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``acn-sklearn`` command."""
    parser = argparse.ArgumentParser(
        prog="acn-sklearn",
        description="AtomCloudNet and kernel baselines for molecular properties.",
    )
    parser.add_argument("--version", action="version", version=f"acn-sklearn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (_data, _learning_curve, _fit_predict, _tune):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``acn-sklearn`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = shlex.join(["acn-sklearn", *(sys.argv[1:] if argv is None else argv)])
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args) or 0
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stderr.close()
        return 0
    except (ValueError, ImportError, OSError) as error:  # OSError: a missing file, a full disk
        print(f"acn-sklearn {args.command}: error: {error}", file=sys.stderr)
        return 1
