"""The user's own molecules: .xyz/.extxyz files, with a target from their properties or a CSV."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np
from sklearn.utils import Bunch

from .._targets import TARGET_UNITS
from ..atomic import check_atom_targets
from ..molecules import check_molecules, check_targets, read_xyz, to_array


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
