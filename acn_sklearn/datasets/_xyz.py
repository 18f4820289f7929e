"""The user's own molecules: .xyz/.extxyz files, with a target from their properties or a CSV."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from os import PathLike

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols
from sklearn.utils import Bunch

from .._targets import TARGET_UNITS
from ..atomic import check_atom_targets
from ..molecules import check_molecules, check_targets, to_array


def _frames(path: str | PathLike) -> Iterator[tuple[int, str, list[tuple[int, str]]]]:
    """Walk an xyz file frame by frame, the way ase reads it.

    Yields
    ------
    comment_number : int
        The line number (from 1) of the frame's comment line, its second line.
    comment : str
        The comment line.
    atom_lines : list of (int, str)
        The frame's atom lines with their line numbers (from 1).

    Raises
    ------
    ValueError
        ``"line N: problem"`` where a frame does not start with its atom count,
        or the file ends inside a frame.
    """
    with open(path) as handle:
        lines = enumerate(handle, start=1)
        for number, line in lines:
            if not line.strip():
                continue
            count = line.split()[0]
            if not count.isdigit():
                raise ValueError(
                    f"line {number}: expected the atom count of a molecule, found "
                    f"{line.strip()[:40]!r}"
                )
            comment_number, comment = next(lines, (number + 1, ""))
            atom_lines = list(islice(lines, int(count)))
            if len(atom_lines) < int(count):
                raise ValueError(
                    f"line {number}: the count says {count} atoms, but the file ends after "
                    f"{len(atom_lines)} atoms"
                )
            yield comment_number, comment.strip(), atom_lines


def _describe(name: str, columns: int) -> list[str]:
    """Plain names of the values of one extxyz property on an atom line."""
    if name == "species":
        return ["element symbol"]
    if name == "pos" and columns == 3:
        return ["x coordinate", "y coordinate", "z coordinate"]
    return [name] if columns == 1 else [f"{name} value {c + 1}" for c in range(columns)]


def _frame_problem(
    comment_number: int, comment: str, atom_lines: list[tuple[int, str]]
) -> str | None:
    """``"line N: problem"`` for the first line of a frame ase cannot read, else None."""
    from ase.io.extxyz import key_val_str_to_dict, parse_properties

    try:
        layout = key_val_str_to_dict(comment).get("Properties", "species:S:1:pos:R:3")
        properties, names, dtype, _ = parse_properties(layout)
    except (ValueError, KeyError, IndexError) as error:
        return f"line {comment_number}: cannot read this comment line's properties ({error})"
    values = [value for name in names for value in _describe(name, properties[name][1])]
    kinds = [dtype[column].kind for column in range(len(dtype))]
    for number, line in atom_lines:
        fields = line.split()
        if len(fields) < len(values):
            return (
                f"line {number}: the atom line {line.strip()[:40]!r} has {len(fields)} "
                f"values; it needs {len(values)} ({', '.join(values)})"
            )
        for field, value, kind in zip(
            fields, values, kinds, strict=False
        ):  # ase ignores extra values
            if value == "element symbol" and field.capitalize() not in chemical_symbols[1:]:
                return f"line {number}: {field[:20]!r} is not an element symbol"
            if kind in "fi" and not _is_number(field, kind):
                number_kind = "a number" if kind == "f" else "an integer"
                return f"line {number}: {value} {field[:20]!r} is not {number_kind}"
    return None


def _is_number(field: str, kind: str) -> bool:
    try:
        (float if kind == "f" else int)(field)
    except ValueError:
        return False
    return True


def _locate_problem(path: str | PathLike) -> str | None:
    """``"line N: problem"`` for the first line of an xyz file ase cannot read, else None."""
    try:
        for frame in _frames(path):
            problem = _frame_problem(*frame)
            if problem:
                return problem
    except ValueError as error:
        return str(error)
    return None


def read_xyz(paths: str | PathLike | Iterable[str | PathLike]) -> list[Atoms]:
    """Read molecules from .xyz or extended .xyz files through ase.

    Every frame of every file is read, in order. Properties written in an
    extended-xyz comment line (``energy=-40.4 name=methane``) end up in each
    molecule's ``info`` dictionary, including those ase reads as calculator
    results (energy, dipole, ...). A plain comment line, without ``key=value``
    pairs (``ethanol, conformer 2``), is the molecule's name: ``info["name"]``.

    Parameters
    ----------
    paths : path or iterable of paths
        One file or several.

    Returns
    -------
    list of ase.Atoms
        Accepted as X by every estimator; :func:`to_array` makes the canonical
        array.

    Raises
    ------
    ValueError
        In one line naming the file, the line (where it is known) and the
        problem, for a file that is not (extended) xyz or holds no molecules:
        ``a.xyz: line 4: 'Xx' is not an element symbol``.
    FileNotFoundError
        For a path that does not exist.
    """
    if isinstance(paths, (str, PathLike)):
        paths = [paths]
    molecules = [atoms for path in paths for atoms in _read_file(path)]
    for atoms in molecules:
        if atoms.calc is not None:
            atoms.info.update(atoms.calc.results)
    return molecules


def _read_file(path: str | PathLike) -> list[Atoms]:
    """Every frame of one xyz file, named by a plain comment line; errors in one line."""
    from ase.io import read

    try:
        frames = read(path, index=":", format="extxyz")
        comments = [comment for _, comment, _ in _frames(path)]
    except FileNotFoundError:
        raise
    except UnicodeDecodeError:
        raise ValueError(f"{path}: is not a text file, as an xyz file is") from None
    except (OSError, ValueError, IndexError, KeyError) as error:
        # ase says what but not where: find the line ase stumbled over.
        ase_said = str(error).splitlines()[0].removeprefix("ase.io.extxyz: ")
        problem = _locate_problem(path) or f"not a valid (extended) xyz file: {ase_said}"
        raise ValueError(f"{path}: {problem}") from None
    if not frames:
        raise ValueError(f"{path}: holds no molecules (the file is empty)")
    if len(comments) != len(frames):  # ase stops at a blank line between frames
        raise ValueError(
            f"{path}: holds {len(comments)} molecules, but only the first {len(frames)} "
            "could be read; remove the blank line after the last one read"
        )
    for atoms, comment in zip(frames, comments, strict=True):
        if comment and "=" not in comment:  # ase made a flag of each word: a name instead
            atoms.info = {"name": comment}
    return frames


def load_xyz(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    target: str | None = None,
    *,
    targets_csv: str | os.PathLike | None = None,
    unit: str | None = None,
    validate: bool = True,
) -> Bunch:
    """Load molecules from .xyz/.extxyz files, and optionally one target.

    Every frame of every file is read, in order. Each molecule is named by the
    comment line of a plain xyz file, the ``name`` or ``smiles`` property of an
    extended one, else ``file:frame``; errors about a molecule give its name.

    Parameters
    ----------
    paths : path or sequence of paths
        (Extended) xyz files.
    target : str, optional
        Property to return as ``target``: read from each molecule's properties
        (the extxyz comment line), or from the column ``target`` of ``targets_csv``;
        a per-atom property (an extxyz column, such as ``mulliken_charges``) gives
        one value per atom.
    targets_csv : path, optional
        A CSV file with one row per molecule, in file order.
    unit : str, optional
        The target's unit, returned as ``target_units``; by default the unit of
        a QM9 property name, else ``"target units"``.
    validate : bool, default=True
        Validate the molecules (:func:`~acn_sklearn.molecules.check_molecules`).
        False leaves it to the estimator, e.g. to predict the valid ones with
        :func:`~acn_sklearn.molecules.predict_valid`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data``: canonical array (n_molecules, max_atoms, 4) of the molecules
        of every file in order (validated unless ``validate=False``);
        ``target``: ndarray of shape (n_molecules,), of shape (n_molecules,
        max_atoms) aligned with ``data`` (zero at padding) for a per-atom
        property, or None without ``target``; ``names``: ndarray of str;
        ``locations``: ndarray of str, each molecule's ``file:frame`` (frames
        from 0); ``target_units``: ``unit``, else the unit of a QM9 property
        name, else ``"target units"``.

    Raises
    ------
    ValueError
        For a file that is not valid xyz or holds an invalid molecule (naming
        the file, the molecule's frame in it and its name), a molecule that lacks the
        target or whose value is not finite, or a CSV that lacks the column or
        has another number of rows.
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    molecules, names, locations = [], [], []
    for path in paths:
        frames = read_xyz(path)
        located = [f"{path}:{frame}" for frame in range(len(frames))]
        named = [
            str(atoms.info.get("name", atoms.info.get("smiles", location)))
            for atoms, location in zip(frames, located, strict=True)
        ]
        try:
            if validate:
                check_molecules(frames)
        except ValueError as error:  # "molecule i: ..." -> the file and the molecule's name
            message = str(error)
            numbered = re.match(r"molecule (\d+):", message)
            if numbered:
                i = int(numbered[1])
                message = f"molecule {i} ({named[i]}):{message[numbered.end() :]}"
            raise ValueError(f"{path}: {message}") from None
        molecules.extend(frames)
        names.extend(named)
        locations.extend(located)
    X = to_array(molecules)
    y = None
    if targets_csv is not None:
        y = check_targets(_csv_column(targets_csv, target, len(molecules)), len(molecules))
    elif target is not None and all(target in atoms.arrays for atoms in molecules):
        y = _atom_column(molecules, names, target, X)
    elif target is not None:
        missing = [i for i, atoms in enumerate(molecules) if target not in atoms.info]
        if missing:
            raise ValueError(
                f"molecule {missing[0]} ({names[missing[0]]}) has no property "
                f"{target!r} ({len(missing)} molecule(s) lack it)"
            )
        y = check_targets([atoms.info[target] for atoms in molecules], len(molecules))
    return Bunch(
        data=X,
        target=y,
        names=np.array(names),
        locations=np.array(locations),
        target_units=unit or TARGET_UNITS.get(target, "target units"),
    )


def _atom_column(molecules, names, target: str, X: np.ndarray) -> np.ndarray:
    """A per-atom property as (n_molecules, max_atoms), aligned with X, zero at padding."""
    y = np.zeros(X.shape[:2])
    for i, atoms in enumerate(molecules):
        values = np.asarray(atoms.arrays[target], dtype=float)
        if values.ndim != 1:
            raise ValueError(
                f"molecule {i} ({names[i]}): per-atom property {target!r} has shape "
                f"{values.shape}; a target has one value per atom"
            )
        y[i, : len(values)] = values
    return check_atom_targets(y, X)


def _csv_column(path, column: str | None, n_molecules: int) -> np.ndarray:
    import pandas as pd

    table = pd.read_csv(path)
    if column not in table.columns:
        raise ValueError(f"{path} has no column {column!r}; it has {list(table.columns)}")
    if len(table) != n_molecules:
        raise ValueError(
            f"{path} has {len(table)} rows but the xyz file(s) hold {n_molecules} "
            "molecules; they must match one to one"
        )
    return table[column].to_numpy(float)
