"""What every benchmark shares: the fixed QM9 held-out split and writing results to docs.

The test set is 2,000 QM9 molecules drawn once with a fixed seed; training subsets of
size N are the first N molecules of a seeded permutation of the remaining ones, so a
larger N contains every smaller one. No benchmark fits, stops early or tunes on the
test set.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import numpy as np

from acn_sklearn.datasets import load_qm9
from acn_sklearn.study._provenance import machine, now
from acn_sklearn.study.protocol import held_out_split as split_indices

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"
TEST_SEED = 0
N_TEST = 2000


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


def write_report(name: str, title: str, body: str) -> Path:
    """Write ``docs/benchmarks/<name>.md`` with date, machine and the command that ran."""
    DOCS.mkdir(parents=True, exist_ok=True)
    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    text = (
        f"# {title}\n\n"
        f"- date: {now()}\n"
        f"- machine: {machine()}\n"
        f"- command: `{command}`\n\n{body.strip()}\n"
    )
    path = DOCS / f"{name}.md"
    path.write_text(text)
    print(f"wrote {path}")
    return path
