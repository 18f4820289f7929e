"""What every benchmark shares: the fixed QM9 held-out split and the results record.

The test set is 2,000 QM9 molecules drawn once with a fixed seed; training subsets of
size N are the first N molecules of a seeded permutation of the remaining ones, so a
larger N contains every smaller one. No benchmark fits, stops early or tunes on the
test set.

Every run appends its rows to ``benchmarks/results.jsonl`` (:func:`append_record`);
``python benchmarks/make_pages.py`` builds the pages of ``docs/benchmarks/`` from it.
Scripts run from the repository root as modules, e.g.
``python -m benchmarks.accuracy.bench_acn --config acn_default``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np

from acn_sklearn.datasets import load_qm9
from acn_sklearn.study._provenance import machine, now
from acn_sklearn.study.protocol import held_out_split as split_indices

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
#: One JSON object per line: a run, or one table row of a run's report.
RECORD = BENCHMARKS / "results.jsonl"
#: Named configurations, ``configs/<name>.toml``.
CONFIGS = BENCHMARKS / "configs"
#: Test predictions of the ACN runs, for averaging them later (bench_acn --average).
PREDICTIONS = BENCHMARKS / "predictions"
#: Raw outputs that scripts accumulate and rebuild their tables from (JSON).
RAW = BENCHMARKS / "raw"
#: Figures shown on the generated pages.
DOCS = ROOT / "docs" / "benchmarks"
TEST_SEED = 0
N_TEST = 2000
#: The load average when the script started (1, 5 and 15 minutes).
START_LOAD = os.getloadavg()


def held_out_split(n_train: int, *, target="U_atomization", repeat: int = 0):
    """Return ``X_train, y_train, X_test, y_test`` of the fixed benchmark split.

    The same protocol as ``acn-sklearn learning-curve``
    (:func:`acn_sklearn.study.protocol.held_out_split`).

    Parameters
    ----------
    n_train : int
        Training-set size N.
    target : str or list of str
        QM9 target(s).
    repeat : int
        Index of the training subset: repeat 0, 1, ... draw different N molecules
        from the same training pool; the test set never changes.
    """
    X, y = load_qm9(target=target, return_X_y=True)
    train, test = split_indices(len(X), n_train, n_test=N_TEST, test_seed=TEST_SEED, repeat=repeat)
    return X[train], y[train], X[test], y[test]


def load_compact_qm9(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``X`` (n, 29, 4) float64 rows [Z, x, y, z] and ``y`` from a compact QM9 npz.

    The npz (``Z`` uint8, ``R`` float32 coordinates, ``y`` U_atomization in kcal/mol;
    see ``gpu_check.sh``) lets a lent machine without qm9pack run a benchmark.
    """
    with np.load(path) as data:
        Z, R, y = data["Z"], data["R"], data["y"]
    X = np.concatenate([Z[..., None].astype(np.float64), R.astype(np.float64)], axis=2)
    return X, y


def load_config(name: str) -> dict:
    """The named configuration ``benchmarks/configs/<name>.toml`` as a dict (with its name)."""
    path = CONFIGS / f"{name}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in CONFIGS.glob("*.toml")))
        raise SystemExit(f"no configuration {name!r} (known: {known})")
    return {"name": name, **tomllib.loads(path.read_text())}


def revision() -> str:
    """The git commit of the source tree ("unknown" outside a git checkout).

    ``-dirty`` is appended when tracked files differ from the commit, other than what
    runs write (:data:`OWN_OUTPUTS`).
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", *OWN_OUTPUTS)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if changed else "")


#: What runs write, left out of the dirty check of :func:`revision`.
OWN_OUTPUTS = (":!benchmarks/results.jsonl", ":!benchmarks/predictions", ":!docs/benchmarks")


def command() -> str:
    """The command line of this run, ``python -m benchmarks...`` for a module."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    script = ["-m", spec.name] if spec else sys.argv[:1]
    return " ".join(shlex.quote(a) for a in ["python", *script, *sys.argv[1:]])


def markdown_tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of ``text``: a list of rows ``{header: cell}``.

    Bold markers are dropped from the cells; a repeated header gets a ``#2`` suffix.
    """
    tables, lines = [], text.splitlines()
    for i, line in enumerate(lines[:-1]):
        if not (line.startswith("|") and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1])):
            continue
        headers = []
        for cell in _cells(line):
            headers.append(cell if cell not in headers else f"{cell}#{headers.count(cell) + 1}")
        rows = []
        for row in lines[i + 2 :]:
            if not row.startswith("|"):
                break
            rows.append(dict(zip(headers, _cells(row), strict=False)))
        tables.append(rows)
    return tables


def _cells(line: str) -> list[str]:
    return [c.strip().replace("**", "") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


#: The keys of every record row, in this order (rows may add ``title``, ``table``, ``source``).
RECORD_KEYS = (
    "id", "question", "config", "params", "n_train", "seed",
    "revision", "date", "machine", "load", "command", "metrics",
)  # fmt: skip


def append_record(row: dict) -> dict:
    """Append one run (or one table row of a run) to the record, with its provenance.

    ``row`` holds ``id``, ``question``, ``metrics`` and, where they apply, ``config``,
    ``params``, ``n_train`` and ``seed``; the git revision, date, machine, load at the
    start and the command are added here. An id already in the record gets a suffix.
    """
    taken = {json.loads(line)["id"] for line in RECORD.read_text().splitlines()}
    row_id, k = row["id"], 1
    while row_id in taken:
        k += 1
        row_id = f"{row['id']}~{k}"
    full = {
        "id": row_id,
        "question": row["question"],
        "config": row.get("config"),
        "params": row.get("params"),
        "n_train": row.get("n_train"),
        "seed": row.get("seed"),
        "revision": revision(),
        "date": now(),
        "machine": machine(),
        "load": [round(x, 2) for x in START_LOAD],
        "command": command(),
        "metrics": row["metrics"],
        **{k: v for k, v in row.items() if k not in RECORD_KEYS},
    }
    with RECORD.open("a") as f:
        f.write(json.dumps(full) + "\n")
    return full


def write_report(name: str, title: str, body: str, *, question: str, **run) -> None:
    """Print a run's Markdown report and append its tables to the record.

    Each row of each table of ``body`` becomes a record row ``<name>-<table>-<row>``
    whose metrics are the row's cells; rows the record already holds (scripts that
    accumulate results print every earlier row again) are not appended twice. Pass
    ``metrics`` (and ``config``, ``params``, ``n_train``, ``seed``) instead to
    record the run as one row with the id ``name``.
    """
    print(f"# {title}\n\n{body.strip()}\n")
    if "metrics" in run:
        append_record({"id": name, "question": question, "title": title, **run})
        return
    recorded = [json.loads(line) for line in RECORD.read_text().splitlines()]
    seen = {(r.get("title"), r.get("table"), json.dumps(r["metrics"])) for r in recorded}
    for t, table in enumerate(markdown_tables(body), 1):
        for r, cells in enumerate(table, 1):
            if (title, t, json.dumps(cells)) in seen:
                continue
            row_id = f"{name}-{t}-{r}"
            append_record(
                {"id": row_id, "question": question, "title": title, "table": t, "metrics": cells}
            )
