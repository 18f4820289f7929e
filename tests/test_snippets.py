"""Every Python snippet of the README and the user guide runs, in order, per file.

A file's snippets share one namespace, as a reader who pastes them one after the
other has it, and run in a temporary working directory. The heavy parts are made
small at a few seams, so that the snippets' own code is what runs:

- :func:`acn_sklearn.datasets.load_qm9` returns the 400 QM9 molecules of
  ``tests/data/qm9_subset.extxyz`` (a snippet that asks for more gets rotated,
  slightly jittered copies), honouring ``target``, ``n_molecules``,
  ``random_state`` and ``return_X_y``;
- numbers of molecules in a snippet (slice bounds, ``n_molecules``,
  ``train_sizes``, ...) are divided by :data:`SCALE`: kernel models at the
  snippets' 2,000 molecules take minutes on a busy machine;
- every AtomCloudNet trains 2 epochs with tiny widths (the ACN base class's
  ``__init__`` caps them), representations are computed once per molecule (the
  package's own cache) and joblib runs sequentially;
- files a snippet reads (``my_molecules.xyz``) are written from the subset first.

A snippet that cannot run here (a GPU, ``torchrun``, a server) carries a marker in
its source right before the block, ``.. skip-snippet: REASON`` in reStructuredText
or ``<!-- skip-snippet: REASON -->`` in the README; it is reported as skipped, never
dropped silently. Snippets written as doctests (``>>>``) are checked against their
shown output. Warnings that sklearn raises when a fit or a score fails (the score
becomes NaN) are errors here.
"""

from __future__ import annotations

import ast
import doctest
import functools
import re
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from ase.io import write
from joblib import parallel_config
from scipy.spatial.transform import Rotation
from sklearn.exceptions import FitFailedWarning
from sklearn.utils import Bunch

import acn_sklearn.datasets
from acn_sklearn.acn._base import ACNBase
from acn_sklearn.datasets import QM9_MAX_ATOMS, TARGET_NAMES, TARGET_UNITS
from acn_sklearn.molecules import to_array
from acn_sklearn.representations import _base as representations_base
from acn_sklearn.representations._cache import represent

ROOT = Path(__file__).parents[1]
DOCS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in (ROOT / "docs").glob("*.rst")
    if "code-block:: python" in p.read_text()
)
FILES = ["README.md", *DOCS]

#: What an AtomCloudNet may be at most here: 2 epochs, tiny widths.
ACN_CAPS = {
    "max_epochs": 2,
    "embedding_dim": 8,
    "cloud_channels": 4,
    "n_radial": 4,
    "atom_dim": 8,
    "hidden_sizes": (8, 8),
}
#: Files that snippets read, written from the QM9 subset: name -> molecules taken.
INPUT_FILES = {
    "my_molecules.xyz": slice(0, 6),
    "train.xyz": slice(0, 20),
    "more.xyz": slice(20, 30),
}
#: The QM9 subset holds no Mulliken charges; these stand in: electronegativity minus
#: the molecule's mean, so that every molecule's charges sum to 0 as QM9's do.
PAULING = {1: 2.20, 6: 2.55, 7: 3.04, 8: 3.44, 9: 3.98}

#: Numbers of molecules in snippets are divided by this (``X[:2000]`` runs as ``X[:200]``).
SCALE = 10
#: Keywords whose integers are numbers of molecules.
SIZE_KEYWORDS = {"n_molecules", "n_test", "n_landmarks", "train_sizes"}

SKIP_RST = re.compile(r"^\.\. skip-snippet: (.+)$")
SKIP_MD = re.compile(r"^<!-- skip-snippet: (.+) -->$")


@dataclass
class Snippet:
    """One Python block of a documentation file."""

    line: int
    code: str
    skip: str = ""


def _previous_text_line(lines: list[str], index: int) -> str:
    """The last non-blank line before ``lines[index]``."""
    for line in reversed(lines[:index]):
        if line.strip():
            return line.strip()
    return ""


def snippets(path: str, root: Path = ROOT) -> list[Snippet]:
    """The Python blocks of a README (```` ```python ````) or an .rst file, in order.

    Parameters
    ----------
    path : str
        The file, relative to ``root``.
    root : Path, default: the repository root

    Returns
    -------
    list of Snippet
        Each with its first line (1-based), its dedented code and, if the block is
        marked to be skipped, the reason given.
    """
    lines = (root / path).read_text().splitlines()
    found = []
    for i, line in enumerate(lines):
        if path.endswith(".md"):
            if line.strip() != "```python":
                continue
            end = lines.index("```", i + 1)
            body, skip = lines[i + 1 : end], SKIP_MD.match(_previous_text_line(lines, i))
        else:
            if line.strip() != ".. code-block:: python":
                continue
            indent = len(line) - len(line.lstrip())
            body = []
            for following in lines[i + 1 :]:
                inner = len(following) - len(following.lstrip())
                if following.strip() and inner <= indent:
                    break
                body.append(following)
            body = [b for b in body if not b.strip().startswith(":")]  # block options
            skip = SKIP_RST.match(_previous_text_line(lines, i))
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        found.append(Snippet(i + 1, code, skip[1] if skip else ""))
    return found


class _FewerMolecules(ast.NodeTransformer):
    """Divide the numbers of molecules of a snippet by :data:`SCALE`.

    They are the integers of slice bounds (``X[:2000]``), of the keywords in
    :data:`SIZE_KEYWORDS` and the training size of ``held_out_split``; other numbers
    (kernel widths, epochs, radii) stay as written.
    """

    @staticmethod
    def _smaller(node):
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return ast.copy_location(ast.Constant(max(1, node.value // SCALE)), node)
        if isinstance(node, ast.List | ast.Tuple):
            node.elts = [_FewerMolecules._smaller(e) for e in node.elts]
        return node

    def visit_Slice(self, node):
        node.lower, node.upper = self._smaller(node.lower), self._smaller(node.upper)
        return self.generic_visit(node)

    def visit_keyword(self, node):
        if node.arg in SIZE_KEYWORDS:
            node.value = self._smaller(node.value)
        return self.generic_visit(node)

    def visit_Call(self, node):
        if getattr(node.func, "id", None) == "held_out_split" and len(node.args) > 1:
            node.args[1] = self._smaller(node.args[1])
        return self.generic_visit(node)


def _subset_molecules():
    from acn_sklearn.datasets import read_xyz

    return read_xyz(ROOT / "tests/data/qm9_subset.extxyz")


def _copies(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` molecules: ``X`` first, then rotated copies of it with a 0.01 A jitter."""
    rows = [X]
    while sum(len(r) for r in rows) < n:
        copy = X.copy()
        for molecule in copy:
            atoms = molecule[:, 0] > 0
            rotated = Rotation.random(random_state=rng).apply(molecule[atoms, 1:])
            molecule[atoms, 1:] = rotated + rng.normal(scale=0.01, size=rotated.shape)
        rows.append(copy)
    return np.concatenate(rows)[:n]


def fake_load_qm9(*, target="U_atomization", n_molecules=None, random_state=None, **kwargs):
    """:func:`acn_sklearn.datasets.load_qm9` on the 400 molecules of the test subset.

    Without ``n_molecules`` it stands for all of QM9 with the 400 molecules in
    file order, enough for a held-out set of 200 and N = 100 (2,000 and 1,000 in
    the snippets, divided by :data:`SCALE`).
    """
    return_X_y = kwargs.pop("return_X_y", False)
    assert set(kwargs) <= {"data_home"}, f"load_qm9 called with {sorted(kwargs)}"
    molecules = _subset_molecules()
    names = TARGET_NAMES if target is None else [target] if isinstance(target, str) else target
    X = to_array(molecules, max_atoms=QM9_MAX_ATOMS)
    charges = np.zeros(X.shape[:2])
    for i, atoms in enumerate(molecules):
        chi = np.array([PAULING[z] for z in atoms.numbers])
        charges[i, : len(atoms)] = chi - chi.mean()
    if target == "mulliken_charges":
        table = charges
    else:
        table = np.array([[atoms.info[name] for name in names] for atoms in molecules])
    n = len(molecules) if n_molecules is None else n_molecules
    X = _copies(X, max(n, len(molecules)), np.random.default_rng(0))
    index = np.arange(len(X)) % len(molecules)
    if n_molecules is None:
        order = np.arange(n)
    else:
        order = np.random.RandomState(random_state).choice(len(X), n, replace=False)
    X, index = X[order], index[order]
    y = table[index]
    if isinstance(target, str) and target != "mulliken_charges":
        y = y[:, 0]
    if return_X_y:
        return X, y
    return Bunch(
        data=X,
        target=y,
        target_names=list(names),
        target_units={name: TARGET_UNITS.get(name, "e") for name in names},
        ids=np.array([molecules[i].info["qm9_id"] for i in index]),
        smiles=np.array([molecules[i].info["smiles"] for i in index]),
        mulliken_charges=charges[index],
        DESCR="QM9 test subset",
    )


@pytest.fixture
def small_world(monkeypatch, tmp_path):
    """Small QM9, small networks, the input files, a temporary working directory."""
    monkeypatch.setattr(acn_sklearn.datasets, "load_qm9", fake_load_qm9)
    init = ACNBase.__init__

    @functools.wraps(init)
    def capped(self, **kwargs):
        init(self, **kwargs)
        for name, cap in ACN_CAPS.items():
            value = getattr(self, name)
            if isinstance(cap, tuple) and tuple(value) != cap:
                setattr(self, name, cap)
            elif not isinstance(cap, tuple) and value > cap:
                setattr(self, name, cap)

    monkeypatch.setattr(ACNBase, "__init__", capped)
    folder = str(tmp_path / "representations")

    def cached(molecules, represent_one, settings, *, n_jobs=None, memory=None):
        return represent(molecules, represent_one, settings, memory=memory or folder)

    monkeypatch.setattr(representations_base, "represent", cached)
    monkeypatch.chdir(tmp_path)
    molecules = _subset_molecules()
    for atoms in molecules:
        atoms.info["energy"] = atoms.info["U_atomization"]
    for name, rows in INPUT_FILES.items():
        write(name, molecules[rows], format="extxyz")


def _run(snippet: Snippet, path: str, namespace: dict) -> None:
    where = f"{path}:{snippet.line}"
    if snippet.code.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(snippet.code, namespace, where, path, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        runner.run(test, out=lambda text: print(text, end=""))
        assert not runner.failures, f"the doctest at {where} failed (output above)"
        return
    tree = _FewerMolecules().visit(ast.parse(snippet.code))
    exec(compile(ast.fix_missing_locations(tree), where, "exec"), namespace)


# About 110 s for all files at a load of 8 on 2 cores (quickstart 68 s: its kernel
# models and the 20 fits of its grid search), above the minute of a fast test.
@pytest.mark.slow
@pytest.mark.parametrize("path", FILES)
def test_snippets_run(path, small_world):
    found = snippets(path)
    assert found, f"{path} has no Python snippet"
    namespace = {"__name__": "__snippet__"}
    skipped = []
    with warnings.catch_warnings(), parallel_config(backend="sequential"):
        warnings.simplefilter("error", FitFailedWarning)
        warnings.filterwarnings("error", message="Scoring failed")
        for snippet in found:
            if snippet.skip:
                skipped.append(f"{path}:{snippet.line} ({snippet.skip})")
                continue
            _run(snippet, path, namespace)
    if skipped:
        print("skipped:", *skipped, sep="\n  ")


def test_snippet_collection_reads_blocks_options_and_skip_markers(tmp_path):
    (tmp_path / "page.rst").write_text(
        "Text\n\n.. code-block:: python\n   :caption: one\n\n   a = 1\n\n   b = a\n"
        "Next\n\n.. skip-snippet: needs a GPU\n\n.. code-block:: python\n\n   gpu()\n"
    )
    (tmp_path / "README.md").write_text(
        "<!-- skip-snippet: a server -->\n```python\nserve()\n```\n\n```python\nc = 2\n```\n"
    )
    rst, md = snippets("page.rst", tmp_path), snippets("README.md", tmp_path)
    assert [(s.line, s.code, s.skip) for s in rst] == [
        (3, "a = 1\n\nb = a\n", ""),
        (13, "gpu()\n", "needs a GPU"),
    ]
    assert [(s.code, s.skip) for s in md] == [("serve()\n", "a server"), ("c = 2\n", "")]
