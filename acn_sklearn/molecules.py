"""The molecule format shared by every estimator.

Canonical X is a float array of shape ``(n_molecules, max_atoms, 4)`` whose rows
are ``[Z, x, y, z]`` (nuclear charge, Cartesian coordinates in Angstrom). Molecules
with fewer atoms are padded at the end with all-zero rows (``Z = 0``).

:func:`to_array` converts any accepted input (that array, a sequence of
:class:`ase.Atoms`, a sequence of ``(Z, R)`` pairs, or a pandas DataFrame with
one molecule per row) into the canonical array;
:func:`check_molecules` converts *and* validates, and is what every estimator
calls at its public edge; an estimator made of parts validates once and marks the
array with :func:`checked`, so its parts take it as it is. Errors name the molecule
(its index in X) and the problem, and are :class:`InvalidMoleculeError` errors,
which list every molecule with the problem; nothing is silently dropped,
truncated or re-ordered. :func:`predict_valid` predicts a batch in which some molecules are
invalid for the model: NaN and the reason for those, predictions for the others.

The helpers every model shares live here too: the elements of X
(:func:`elements_in`), element counts, the target check, the unseen-element check
and the per-element least-squares baseline ("dressed atoms").
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

__all__ = [
    "MAX_Z",
    "MIN_DISTANCE",
    "InvalidMoleculeError",
    "check_elements",
    "check_molecules",
    "check_targets",
    "checked",
    "element_baseline",
    "element_counts",
    "elements_in",
    "n_atoms",
    "predict_valid",
    "to_array",
    "to_atoms",
    "to_zr",
]

#: Largest nuclear charge of a known element (oganesson).
MAX_Z = len(chemical_symbols) - 1

#: Two atoms closer than this (Angstrom) are "on top of each other". The shortest
#: chemical bond (H2, 0.74 A) is well above it.
MIN_DISTANCE = 0.5


class InvalidMoleculeError(ValueError):
    """A :class:`ValueError` about particular molecules of X, with each one's problem.

    Its message names the first such molecule by its index in X (``"molecule 5:
    ..."``); :attr:`reasons` lists every molecule found with the problem.

    Parameters
    ----------
    message : str
        The error message.
    reasons : dict of int to str
        Index in X -> what is wrong with that molecule, in words.

    Attributes
    ----------
    reasons : dict of int to str
    """

    def __init__(self, message: str, reasons: dict[int, str]):
        super().__init__(message)
        self.reasons = {int(i): str(reason) for i, reason in reasons.items()}

    def __reduce__(self):  # travels between joblib workers with its reasons
        return type(self), (str(self), self.reasons)


def _as_zr_pair(molecule, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(Z, R)`` of one molecule given as ase.Atoms or a (Z, R) pair."""
    if isinstance(molecule, Atoms):
        return molecule.numbers.astype(float), np.asarray(molecule.positions, float)
    try:
        z, r = molecule
    except (TypeError, ValueError):
        raise ValueError(
            f"molecule {index}: expected ase.Atoms or a (Z, R) pair, got {type(molecule).__name__}"
        ) from None
    z = np.asarray(z, dtype=float)
    r = np.asarray(r, dtype=float)
    if z.ndim != 1 or r.ndim != 2 or r.shape[1] != 3 or len(z) != len(r):
        raise ValueError(
            f"molecule {index}: Z must have shape (n_atoms,) and R (n_atoms, 3); "
            f"got Z {z.shape} and R {r.shape}"
        )
    return z, r


def to_array(molecules, max_atoms: int | None = None) -> np.ndarray:
    """Convert molecules to the canonical padded array.

    Parameters
    ----------
    molecules : array-like of shape (n_molecules, n_rows, 4), sequence or DataFrame
        The canonical array (any float or int dtype), a sequence of
        :class:`ase.Atoms`, a sequence of ``(Z, R)`` pairs with ``Z`` of
        shape (n_atoms,) and ``R`` of shape (n_atoms, 3), or a pandas
        DataFrame with one molecule per row: in columns ``Z`` and ``R`` (one
        such pair per row), else in its one column of :class:`ase.Atoms`;
        other columns (names, targets) are ignored. Positions in Angstrom.
    max_atoms : int, optional
        Width of the returned array. Trailing all-padding rows are removed or
        added to reach it. By default the array keeps its width (array input)
        or is as wide as the largest molecule (sequence input).

    Returns
    -------
    X : ndarray of shape (n_molecules, max_atoms, 4), float64
        Rows ``[Z, x, y, z]``, zero rows at the end of each molecule. A new
        array: the input is never modified.

    Raises
    ------
    ValueError
        If the input has the wrong shape, is a DataFrame of another layout, or
        a molecule has more than ``max_atoms`` atoms (molecules are never
        truncated).
    """
    if _is_dataframe(molecules):
        molecules = _frame_molecules(molecules)
    if isinstance(molecules, np.ndarray) and molecules.dtype != object:
        if molecules.ndim != 3 or molecules.shape[2] != 4:
            raise ValueError(
                "X must have shape (n_molecules, max_atoms, 4) with rows "
                f"[Z, x, y, z]; got shape {molecules.shape}"
            )
        X = np.array(molecules, dtype=np.float64)
    else:
        if isinstance(molecules, Atoms):
            raise ValueError("X must be a sequence of molecules; wrap a single ase.Atoms in a list")
        pairs = [_as_zr_pair(m, i) for i, m in enumerate(molecules)]
        width = max((len(z) for z, _ in pairs), default=0)
        X = np.zeros((len(pairs), width, 4))
        for i, (z, r) in enumerate(pairs):
            X[i, : len(z), 0] = z
            X[i, : len(z), 1:] = r
    if max_atoms is not None:
        X = _set_width(X, int(max_atoms))
    return X


def _is_dataframe(molecules) -> bool:
    """Whether ``molecules`` is a pandas DataFrame (without importing pandas)."""
    return type(molecules).__name__ == "DataFrame" and type(molecules).__module__.startswith(
        "pandas"
    )


def _frame_molecules(frame) -> list:
    """The molecules of a DataFrame's rows: its ``(Z, R)`` columns or its column of Atoms."""
    if {"Z", "R"} <= set(frame.columns):
        return list(zip(frame["Z"], frame["R"], strict=True))
    atoms = [
        column
        for column in frame.columns
        if frame[column].dtype == object and all(isinstance(a, Atoms) for a in frame[column])
    ]
    if len(atoms) == 1:
        return list(frame[atoms[0]])
    raise ValueError(
        f"X is a DataFrame with columns {list(frame.columns)[:10]}; pass one with one molecule "
        "per row, in columns 'Z' and 'R' (arrays of shape (n_atoms,) and (n_atoms, 3)) or in "
        "one column of ase.Atoms"
    )


def _set_width(X: np.ndarray, max_atoms: int) -> np.ndarray:
    width = X.shape[1]
    if max_atoms >= width:
        return np.pad(X, ((0, 0), (0, max_atoms - width), (0, 0)))
    too_big = np.flatnonzero(np.any(X[:, max_atoms:, 0] != 0, axis=1))
    if len(too_big):
        i = too_big[0]
        counts = n_atoms(X)
        raise InvalidMoleculeError(
            f"molecule {i}: has {counts[i]} atoms, more than "
            f"max_atoms={max_atoms} ({len(too_big)} molecule(s) too large)",
            {j: f"has {counts[j]} atoms, more than max_atoms={max_atoms}" for j in too_big},
        )
    return np.ascontiguousarray(X[:, :max_atoms])


def n_atoms(X: np.ndarray) -> np.ndarray:
    """Number of real (non-padding) atoms of each molecule of a canonical array."""
    return np.count_nonzero(X[:, :, 0], axis=1)


def _first_bad(mask: np.ndarray) -> int | None:
    bad = np.flatnonzero(mask)
    return int(bad[0]) if len(bad) else None


def _raise_for(mask: np.ndarray, problem: str) -> None:
    """Raise for the first molecule flagged in ``mask`` (n_molecules,)."""
    i = _first_bad(mask)
    if i is not None:
        more = int(mask.sum()) - 1
        suffix = f" ({more} more molecule(s) with the same problem)" if more else ""
        raise InvalidMoleculeError(
            f"molecule {i}: {problem}{suffix}", dict.fromkeys(np.flatnonzero(mask), problem)
        )


def check_molecules(
    molecules,
    *,
    max_atoms: int | None = None,
    min_distance: float = MIN_DISTANCE,
) -> np.ndarray:
    """Convert molecules to the canonical array and validate them.

    Every estimator and transformer of the package calls this on its input.

    Parameters
    ----------
    molecules : array-like or sequence
        Anything :func:`to_array` accepts.
    max_atoms : int, optional
        Width of the returned array (see :func:`to_array`).
    min_distance : float, default=0.5
        Two atoms of one molecule closer than this (Angstrom) are an error.

    Returns
    -------
    X : ndarray of shape (n_molecules, max_atoms, 4), float64
        The validated canonical array.

    Raises
    ------
    ValueError
        For X of the wrong shape or without molecules.
    InvalidMoleculeError
        Naming the first offending molecule (its index in X) and the problem:
        non-finite values, a non-integer, negative or
        unknown nuclear charge, an empty molecule, a padding row between atoms
        or with non-zero coordinates, or two atoms closer than ``min_distance``.
    """
    if max_atoms is None and min_distance == MIN_DISTANCE and _is_checked(molecules):
        return molecules
    X = to_array(molecules, max_atoms=max_atoms)
    if len(X) == 0:
        raise ValueError("X holds no molecules")
    Z = X[:, :, 0]
    R = X[:, :, 1:]
    _raise_for(~np.isfinite(Z).all(axis=1), "nuclear charge Z is NaN or infinite")
    _raise_for(~np.isfinite(R).all(axis=(1, 2)), "coordinates contain NaN or inf")
    _raise_for((Z != np.round(Z)).any(axis=1), "nuclear charge Z is not an integer")
    _raise_for((Z < 0).any(axis=1), "nuclear charge Z is negative")
    _raise_for((Z > MAX_Z).any(axis=1), f"nuclear charge Z is not a known element (> {MAX_Z})")
    real = Z > 0
    _raise_for(~real.any(axis=1), "empty molecule (no atom with Z > 0)")
    # A real atom after a padding row means padding in the middle of a molecule.
    _raise_for(
        (real[:, 1:] & ~real[:, :-1]).any(axis=1),
        "padding row (Z = 0) between atoms; padding must come after all atoms",
    )
    _raise_for(
        ((R != 0).any(axis=2) & ~real).any(axis=1),
        "padding row (Z = 0) with non-zero coordinates; padding rows must be all "
        "zero (is an atom missing its Z?)",
    )
    _check_distances(X, real, min_distance)
    return X


#: Arrays validated by a caller further out (see :func:`checked`), innermost last.
_CHECKED: ContextVar[tuple[np.ndarray, ...]] = ContextVar("checked_molecules", default=())


def _is_checked(molecules) -> bool:
    return any(molecules is X for X in _CHECKED.get())


@contextmanager
def checked(X: np.ndarray):
    """Within the block, :func:`check_molecules` returns this very array as it is.

    For estimators made of parts (a pipeline, an ensemble): the outer ``fit`` or
    ``predict`` validates once with :func:`check_molecules` and passes the result
    to its parts inside ``with checked(X):``, so the molecules are validated once
    per call, not once per part. Only the same object is trusted, and only for the
    duration of the block (and in its thread).

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        An array :func:`check_molecules` returned.

    Yields
    ------
    X : the same array
    """
    token = _CHECKED.set((*_CHECKED.get(), X))
    try:
        yield X
    finally:
        _CHECKED.reset(token)


def elements_in(X: np.ndarray) -> np.ndarray:
    """Sorted nuclear charges (int) that occur in canonical molecules ``X``."""
    Z = X[:, :, 0]
    return np.unique(Z[Z > 0]).astype(int)


def element_counts(X: np.ndarray, elements) -> np.ndarray:
    """Atoms of each of ``elements`` in each molecule: int array (n_molecules, n_elements)."""
    Z = X[:, :, 0]
    return np.stack([np.count_nonzero(Z == z, axis=1) for z in elements], axis=1)


def element_baseline(counts: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares energy per atom of each element ("dressed atoms").

    Parameters
    ----------
    counts : ndarray of shape (n_molecules, n_columns)
        :func:`element_counts`, with a column of ones appended where the
        baseline has a constant.
    y : ndarray of shape (n_molecules,) or (n_molecules, n_targets)

    Returns
    -------
    ndarray of shape (n_columns,) or (n_columns, n_targets)
        The minimum-norm least-squares solution: an element whose column is
        all zero gets 0. ``counts @ coef`` is the baseline.
    """
    return np.linalg.lstsq(counts, y, rcond=None)[0]


def check_targets(y, n_molecules: int) -> np.ndarray:
    """Validate targets: a float array of one row per molecule, every value finite.

    Parameters
    ----------
    y : array-like of shape (n_molecules,) or (n_molecules, n_targets)
    n_molecules : int
        Number of molecules of the matching X.

    Returns
    -------
    ndarray of float64, the same shape

    Raises
    ------
    ValueError
        For another shape, or a NaN or infinite value (naming the molecule).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim not in (1, 2) or len(y) != n_molecules:
        raise ValueError(
            f"y must have shape (n_molecules,) or (n_molecules, n_targets) with "
            f"n_molecules={n_molecules}; got shape {y.shape}"
        )
    _raise_for(~np.isfinite(y.reshape(n_molecules, -1)).all(axis=1), "y is NaN or infinite")
    return y


def check_elements(X: np.ndarray, elements, model: str) -> None:
    """Raise for the first molecule with an element outside ``elements``.

    Parameters
    ----------
    X : ndarray of shape (n_molecules, max_atoms, 4)
        Canonical molecules.
    elements : array-like of int
        Nuclear charges the model accepts.
    model : str
        The model's name, for the message.

    Raises
    ------
    InvalidMoleculeError
        Naming the molecule, the atom and the element, and how to declare more
        elements; its ``reasons`` name every molecule with an unseen element.
    """
    unknown = (X[:, :, 0] > 0) & ~np.isin(X[:, :, 0], elements)
    bad = np.flatnonzero(unknown.any(axis=1))
    if len(bad):
        i, accepted = bad[0], _symbols(elements)
        a = int(np.flatnonzero(unknown[i])[0])
        raise InvalidMoleculeError(
            f"molecule {i}: element Z={int(X[i, a, 0])} (atom {a}) was not seen in fit; "
            f"this {model} accepts {accepted}. Fit on molecules that contain it, or declare "
            "the elements up front: the `elements` parameter of this "
            f"{model} (`<step>__elements` when it is a step of a pipeline); "
            "acn_sklearn.registry.set_elements sets every step's "
            f"({len(bad) - 1} more molecule(s) with unseen elements)",
            {
                j: f"element {_symbols(X[j, unknown[j], 0])} not seen in fit (this {model} "
                f"accepts {accepted})"
                for j in bad
            },
        )


def _symbols(charges) -> str:
    """``"H, C, N"``: the element symbols of distinct nuclear charges, in order."""
    return ", ".join(chemical_symbols[z] for z in np.unique(np.asarray(charges, dtype=int)))


def predict_valid(model, X, **predict_params):
    """Predict every molecule the model accepts; NaN and the reason for the others.

    ``model.predict(X)`` refuses a whole batch for one invalid molecule (an
    element the model was not fitted on, two atoms on top of each other): it
    raises an :class:`InvalidMoleculeError` naming it. This calls
    ``model.predict`` on the molecules left after taking out those each such
    error names, until it succeeds; the model validates its input as always, at
    its public edge. Each :class:`~acn_sklearn.domain.DomainWarning` names the
    molecules by their indices in ``X``.

    Parameters
    ----------
    model : fitted estimator
        Any estimator of the package, or a scikit-learn meta-estimator of one.
    X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        Molecules in any format :func:`to_array` accepts.
    **predict_params
        Passed to ``model.predict``, e.g. ``return_std=True``.

    Returns
    -------
    prediction : ndarray, or tuple of ndarray
        What ``model.predict`` returns, with one row per molecule of X: NaN in
        the rows of the molecules it refused.
    reasons : list of (str or None)
        Per molecule of X, None where it was predicted, else why not.

    Raises
    ------
    ValueError
        For X that is not molecules (see :func:`to_array`), an error about the
        batch as a whole, or a batch of which no molecule is valid.

    Examples
    --------
    >>> from acn_sklearn.molecules import predict_valid
    >>> y, reasons = predict_valid(model, X_new)  # doctest: +SKIP
    >>> [(i, why) for i, why in enumerate(reasons) if why]  # doctest: +SKIP
    [(3, 'element Cl not seen in fit (this SLATM accepts H, C, N, O, F)')]
    """
    import warnings

    X = to_array(X)
    reasons: list[str | None] = [None] * len(X)
    keep = np.arange(len(X))
    while True:
        if not len(keep):
            raise ValueError(f"no molecule of X can be predicted: molecule 0: {reasons[0]}")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                prediction = model.predict(X[keep], **predict_params)
            break
        except InvalidMoleculeError as error:
            for i, reason in error.reasons.items():
                reasons[keep[i]] = reason
            keep = np.delete(keep, list(error.reasons))
    for warning in caught:  # the predicted molecules' indices are those of X
        message = warning.message
        if hasattr(message, "molecules"):  # a DomainWarning names molecules by index
            warnings.warn(
                type(message)(message.model, message.reason, keep[message.molecules]),
                stacklevel=2,
            )
        else:
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    parts = prediction if isinstance(prediction, tuple) else (prediction,)
    full = []
    for part in parts:
        whole = np.full((len(X), *np.shape(part)[1:]), np.nan)
        whole[keep] = part
        full.append(whole)
    return (tuple(full) if isinstance(prediction, tuple) else full[0]), reasons


def _check_distances(
    X: np.ndarray, real: np.ndarray, min_distance: float, chunk: int = 4096
) -> None:
    """Raise if two real atoms of one molecule are closer than ``min_distance``."""
    width = X.shape[1]
    off_diagonal = ~np.eye(width, dtype=bool)
    reasons = {}
    for start in range(0, len(X), chunk):
        R = X[start : start + chunk, :, 1:]
        m = real[start : start + chunk]
        diff = R[:, :, None, :] - R[:, None, :, :]
        d2 = np.einsum("mijk,mijk->mij", diff, diff)
        close = m[:, :, None] & m[:, None, :] & off_diagonal & (d2 < min_distance**2)
        for i in np.flatnonzero(close.any(axis=(1, 2))):
            a, b = np.argwhere(close[i])[0]
            reasons[start + i] = (
                f"atoms {a} and {b} are {np.sqrt(d2[i, a, b]):.3g} A apart, closer than "
                f"min_distance={min_distance} A"
            )
    if reasons:
        i = min(reasons)
        more = (
            f" ({len(reasons) - 1} more molecule(s) with atoms too close)"
            if len(reasons) > 1
            else ""
        )
        raise InvalidMoleculeError(f"molecule {i}: {reasons[i]}{more}", reasons)


def to_zr(X) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split molecules into ``(Z, R)`` pairs without padding.

    Parameters
    ----------
    X : array-like or sequence
        Anything :func:`to_array` accepts.

    Returns
    -------
    list of (ndarray of int, ndarray of shape (n_atoms, 3))
    """
    X = to_array(X)
    counts = n_atoms(X)
    return [(X[i, :k, 0].astype(int), X[i, :k, 1:].copy()) for i, k in enumerate(counts)]


def to_atoms(X) -> list[Atoms]:
    """Convert molecules to a list of :class:`ase.Atoms`.

    Parameters
    ----------
    X : array-like or sequence
        Anything :func:`to_array` accepts.

    Returns
    -------
    list of ase.Atoms
    """
    return [Atoms(numbers=z, positions=r) for z, r in to_zr(X)]
