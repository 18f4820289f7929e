"""``acn-sklearn learning-curve``: the paper's Table 1 and Figures 4 and 5."""

from __future__ import annotations

import argparse
import sys

from ..registry import CATALOGUE, MODEL_NAMES
from ._common import add_protocol_arguments, data_source, duration, load_data, positive_int

DEFAULT_MODELS = [entry.name for entry in CATALOGUE.values() if entry.in_default_curve]
PAPER_MODELS = [spec for entry in CATALOGUE.values() for spec in entry.paper_table_1]
PAPER_SIZES = [100, 1000, 10000]


def run(args: argparse.Namespace) -> int:
    """Fit every (model, N, repeat) cell, then write Table 1 and Figures 4 and 5."""
    from pathlib import Path

    from .._provenance import provenance
    from ..learning_curve import run_cells
    from ..reports import markdown_table, table_rows, write_outputs

    models = PAPER_MODELS if args.paper and args.models is None else args.models or DEFAULT_MODELS
    sizes = PAPER_SIZES if args.paper and args.sizes is None else args.sizes or [100, 1000]
    X, y, names, unit = load_data(args)
    out = Path(args.output)
    settings = {
        "models": models,
        "sizes": sizes,
        "repeats": args.repeats,
        "target": args.target,
        "n_test": args.n_test,
        "test_seed": args.test_seed,
        "data": data_source(args),
        **provenance(args.command_line),
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
            f"{duration(elapsed)}, remaining ~{duration(remaining)}",
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
            target=args.target,
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


def register(commands) -> None:
    """Add the subcommand to the ``acn-sklearn`` parser."""
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
        type=positive_int,
        metavar="N",
        help="training-set sizes (default: 100 1000)",
    )
    curve.add_argument(
        "--repeats", type=positive_int, default=1, help="training subsets per size (default: 1)"
    )
    add_protocol_arguments(curve)
    curve.add_argument(
        "-o", "--output", default="learning_curve", help="output folder (default: %(default)s)"
    )
    curve.add_argument(
        "--paper",
        action="store_true",
        help=f"the paper's grid: models {' '.join(PAPER_MODELS)}, "
        f"N = {' '.join(map(str, PAPER_SIZES))}",
    )
    curve.add_argument("--no-cache", action="store_true", help="recompute every cell")
    curve.set_defaults(run=run)
