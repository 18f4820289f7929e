"""``acn-sklearn learning-curve``: the paper's Table 1 and Figures 4 and 5."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from contextlib import contextmanager

from ..registry import CATALOGUE, MODEL_NAMES
from ..study.paper import PAPER_TABLE_1
from ._common import add_protocol_arguments, data_source, duration, load_data, positive_int

DEFAULT_MODELS = [entry.name for entry in CATALOGUE.values() if entry.in_default_curve]
PAPER_MODELS = list(PAPER_TABLE_1)
PAPER_SIZES = [100, 1000, 10000]
#: ``--full``: every model at the paper's sizes, at the peers' 110,000, and at "all".
FULL_MODELS = list(MODEL_NAMES)
FULL_SIZES = [100, 1000, 10000, 110000, "all"]
#: The size that stands for every molecule not in the test set.
ALL = "all"


def remaining_seconds(done: list, models: list[str], sizes: list[int], repeats: int) -> float:
    """Seconds the cells not yet run will take, each from the cells run so far.

    A cell's fit time is that of the same model's largest finished N, scaled to its own
    N (as N^2 for kernel models, whose kernel grows so, and N for the others), plus its
    predict time unscaled (the test set is the same at every N); a model not timed yet
    gets the mean time of the finished cells. A cell that was cached or skipped took no
    time and counts as nothing.
    """
    from ..registry import model_entry

    timed = [c for c in done if not (c.cached or c.skipped)]
    if not timed:
        return 0.0
    mean = sum(c.fit_s + c.predict_s for c in timed) / len(timed)
    finished = {(c.model, c.n_train, c.repeat) for c in done}
    total = 0.0
    for n in sizes:
        for spec in models:
            for repeat in range(repeats):
                if (spec, n, repeat) in finished:
                    continue
                same = [c for c in timed if c.model == spec]
                if not same:
                    total += mean
                    continue
                largest = max(same, key=lambda c: c.n_train)
                power = 2 if model_entry(spec).kind == "kernel" else 1
                total += largest.fit_s * (n / largest.n_train) ** power + largest.predict_s
    return total


def size(text: str) -> int | str:
    """argparse type: a positive integer, or ``all`` (the whole training pool)."""
    return ALL if text.strip().lower() == ALL else positive_int(text)


def resolve_sizes(sizes, n_molecules: int, n_test: int) -> list[int]:
    """Sizes with ``all`` replaced by the training pool: every molecule not in the test set."""
    return sorted({n_molecules - n_test if n == ALL else n for n in sizes})


@contextmanager
def _cluster(address: str | None):
    """Run the cells on the Dask scheduler at ``address`` (every worker), or here."""
    if address is None:
        yield
        return
    try:
        from dask.distributed import Client
    except ImportError:
        raise ImportError(
            "--scheduler needs dask.distributed: pip install 'acn-sklearn[dask]'"
        ) from None
    from joblib import parallel_config

    with Client(address) as client, parallel_config(backend="dask", n_jobs=-1):
        _warn_if_malloc_trims(client)
        yield


def _warn_if_malloc_trims(client) -> None:
    """Warn when the workers run with a fixed glibc trim threshold (the Dask nanny's default).

    Any ``MALLOC_TRIM_THRESHOLD_`` switches off glibc's adaptive mmap threshold, so every
    batch tensor above 128 KiB is mapped and unmapped again: a network fits 1.7-2x slower,
    most of the extra time spent in page faults (docs/benchmarks/scaling.md).
    """
    trims = client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
    trimming = sorted(worker for worker, value in trims.items() if value is not None)
    if trimming:
        warnings.warn(
            f"{len(trimming)} of {len(trims)} Dask workers run with MALLOC_TRIM_THRESHOLD_="
            f"{trims[trimming[0]]} (the Dask nanny sets it), which makes network fits up to 2x "
            "slower; start the workers with distributed.nanny.pre-spawn-environ."
            "MALLOC_TRIM_THRESHOLD_ set to null in the Dask configuration (docs: Scaling)",
            RuntimeWarning,
            stacklevel=3,
        )


def run(args: argparse.Namespace) -> int:
    """Fit every (model, N, repeat) cell, then write Table 1 and Figures 4 and 5."""
    from pathlib import Path

    from ..study._provenance import provenance
    from ..study.learning_curve import run_cells

    if args.merge:
        return _merge(args)
    if args.paper and args.full:
        raise ValueError("--paper and --full are two different grids: choose one")
    if args.max_memory is not None and args.max_memory <= 0:
        raise ValueError(f"--max-memory must be positive, got {args.max_memory:g} GiB")
    preset_models, preset_sizes = (
        (PAPER_MODELS, PAPER_SIZES)
        if args.paper
        else (FULL_MODELS, FULL_SIZES)
        if args.full
        else (DEFAULT_MODELS, [100, 1000])
    )
    models = args.models or preset_models
    X, y, names, unit = load_data(args)
    sizes = resolve_sizes(args.sizes or preset_sizes, len(X), args.n_test)
    out = Path(args.output)
    settings = {
        "models": models,
        "sizes": sizes,
        "repeats": args.repeats,
        "target": args.target,
        "n_test": args.n_test,
        "test_seed": args.test_seed,
        "max_memory": args.max_memory,
        "scheduler": args.scheduler,
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
        remaining = remaining_seconds(cells, models, sizes, args.repeats)
        result = (
            f"SKIPPED: {cell.skipped}"
            if cell.skipped
            else f"MAE {cell.mae:8.3f} {unit}  fit {cell.fit_s:7.1f} s  predict "
            f"{cell.predict_s:6.1f} s{'  (cached)' if cell.cached else ''}"
        )
        print(
            f"[{done:>3}/{total}] {cell.model:<14} N={cell.n_train:<7,} repeat {cell.repeat}  "
            f"{result}  | elapsed {duration(elapsed)}, remaining ~{duration(remaining)}",
            file=sys.stderr,
            flush=True,
        )

    interrupted = False
    try:
        with _cluster(args.scheduler):
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
                max_memory=None if args.max_memory is None else int(args.max_memory * 2**30),
            )
    except KeyboardInterrupt:
        interrupted = True
        print(
            f"interrupted: writing the {len(cells)} finished cell(s); rerun the same "
            "command to continue",
            file=sys.stderr,
        )
    _write(cells, out, X, y, names, args.target, unit, settings | {"complete": not interrupted})
    return 130 if interrupted else 0


def _write(cells, out, X, y, names, target: str, unit: str, settings: dict) -> None:
    """Write Table 1, the figures and the JSON; print the table and where they went."""
    from ..study.reports import markdown_table, table_rows, write_outputs

    paths = write_outputs(
        cells, out, y=y, X=X, smiles=names, target=target, unit=unit, settings=settings
    )
    print(markdown_table(table_rows(cells), unit))
    for name, path in paths.items():
        print(f"wrote {name}: {path}", file=sys.stderr)


#: What runs must share for their cells to stand in one table: the same test molecules.
_SHARED_SETTINGS = ("data", "target", "n_test", "test_seed")


def _merge(args: argparse.Namespace) -> int:
    """Write the outputs of earlier runs' cells together, fitting nothing."""
    import json
    from pathlib import Path

    import numpy as np

    from ..study._provenance import provenance
    from ..study.learning_curve import Cell

    if args.models or args.sizes or args.paper or args.full:
        raise ValueError("--merge writes earlier runs' cells: it takes no models or sizes")
    runs, cells, seen = [], [], {}
    for path in args.merge:
        record = json.loads(Path(path).read_text())
        settings = record["settings"]
        if runs and (shared := [k for k in _SHARED_SETTINGS if settings[k] != runs[0][k]]):
            raise ValueError(
                f"{path}: its {', '.join(shared)} differ from {args.merge[0]}'s: "
                "its cells were scored on other test molecules"
            )
        runs.append(settings)
        for fields in record["cells"]:
            key = (fields["model"], fields["n_train"], fields["repeat"])
            if key in seen:
                raise ValueError(
                    f"{path}: the cell {key[0]} at N = {key[1]:,} (repeat {key[2]}) "
                    f"is also in {seen[key]}"
                )
            seen[key] = path
            arrays = {k: np.asarray(fields[k]) for k in ("test_indices", "predictions")}
            mae = float("nan") if fields["mae"] is None else fields["mae"]
            cells.append(Cell(**(fields | arrays | {"mae": mae})))
    if data_source(args) != runs[0]["data"]:
        raise ValueError(
            f"the runs were on {runs[0]['data']}, not {data_source(args)}: give --data"
        )
    args.target, args.n_test, args.test_seed = (
        runs[0][k] for k in ("target", "n_test", "test_seed")
    )
    X, y, names, unit = load_data(args)
    cells.sort(key=lambda c: (c.n_train, c.model, c.repeat))
    out = Path(args.output)
    settings = {
        **{k: runs[0][k] for k in _SHARED_SETTINGS},
        "models": list(dict.fromkeys(c.model for c in cells)),
        "sizes": sorted({c.n_train for c in cells}),
        "complete": all(run.get("complete", True) for run in runs),
        "runs": runs,
        **provenance(args.command_line),
    }
    _write(cells, out, X, y, names, args.target, unit, settings)
    return 0


def register(commands) -> None:
    """Add the subcommand to the ``acn-sklearn`` parser."""
    curve = commands.add_parser(
        "learning-curve",
        help="test MAE against training-set size for several models (the paper's Table 1, "
        "Figures 4 and 5)",
        description="Fit every model at every training size on QM9 and score it on one "
        "fixed held-out test set. Finished cells are cached in OUTPUT/cache, and a "
        "network cell saves its training state there after every epoch: rerunning the "
        "same command continues where it stopped, inside a network's fit too.",
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
        type=size,
        metavar="N",
        help="training-set sizes; 'all' is every molecule not in the test set (QM9 with "
        "the default 2,000 test molecules: 128,831) (default: 100 1000)",
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
    curve.add_argument(
        "--full",
        action="store_true",
        help=f"all of QM9: models {' '.join(FULL_MODELS)}, N = "
        f"{' '.join(map(str, FULL_SIZES))}; cells whose kernel does not fit in memory are "
        "reported as skipped",
    )
    curve.add_argument(
        "--max-memory",
        type=float,
        metavar="GIB",
        help="memory a cell's kernel matrices may use, in GiB; larger cells are skipped "
        "(default: the memory available at the start)",
    )
    curve.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the cells on the workers of this Dask scheduler (tcp://host:8786; "
        "needs the 'dask' extra); the cache folder must be one they all reach",
    )
    curve.add_argument("--no-cache", action="store_true", help="recompute every cell")
    curve.add_argument(
        "--merge",
        nargs="+",
        metavar="RESULTS",
        help="fit nothing: write the table and figures of the cells of earlier runs' "
        "results.json files together (runs on the same data, target and test set, e.g. "
        "the paper's grid and a full-QM9 cell that took hours on its own)",
    )
    curve.set_defaults(run=run)
