"""QM9, read offline from the CSV files of the installed ``qm9pack`` wheel."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import zipfile
from pathlib import Path

import numpy as np
from ase.data import atomic_numbers
from sklearn.utils import Bunch, check_random_state

from .._files import write_atomically
from .._targets import (
    ATOM_REFERENCE_ENERGIES,
    ATOMIC_TARGETS,
    QM9_PROPERTIES,
    TARGET_KINDS,
    TARGET_NAMES,
    TARGET_UNITS,
)

__all__ = [
    "QM9_MAX_ATOMS",
    "QM9_PROPERTIES",
    "TARGET_KINDS",
    "TARGET_NAMES",
    "TARGET_UNITS",
    "get_data_home",
    "load_qm9",
]

HARTREE_TO_KCAL_MOL = 627.509474

N_MOLECULES = 130_831
#: Atoms of the largest QM9 molecule.
QM9_MAX_ATOMS = 29
_CSV_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
#: Bump when the parsing or the cache layout changes: old caches are rebuilt.
_CACHE_FORMAT = 1
_INSTALL_HINT = 'QM9 ships in the qm9pack wheel: pip install "acn-sklearn[qm9]"'

DESCR = f"""\
QM9 (Ramakrishnan et al., Sci. Data 1, 140022, 2014): {N_MOLECULES:,} small organic
molecules of H, C, N, O and F with up to 9 heavy atoms ({QM9_MAX_ATOMS} atoms at most),
relaxed at B3LYP/6-31G(2df,p). These are the 133,885 molecules minus the 3,054
that failed QM9's geometry consistency check, in file order, as shipped by the
qm9pack wheel (MIT licence).

data: (n_molecules, {QM9_MAX_ATOMS}, 4) array of rows [Z, x, y, z] in Angstrom, padded
with zero rows. Targets: rotational constants A, B, C; dipole moment mu; isotropic
polarizability alpha; HOMO, LUMO and their gap; electronic spatial extent r2; ZPVE;
U0, U, H and G; heat capacity Cv (QM9's units), and the atomization energies
U0_atomization, U_atomization, H_atomization, G_atomization in kcal/mol (molecular
energy minus QM9's free-atom reference energies, 1 hartree = {HARTREE_TO_KCAL_MOL}
kcal/mol). Also: QM9 ids, SMILES, and Mulliken charges per atom (e).
"""


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """Return the folder where parsed datasets are cached.

    Parameters
    ----------
    data_home : path, optional
        Overrides everything else.

    Returns
    -------
    Path
        ``data_home`` if given, else ``$ACN_SKLEARN_DATA`` if set, else
        ``$XDG_CACHE_HOME/acn_sklearn`` (``~/.cache/acn_sklearn``).
    """
    if data_home is None:
        data_home = os.environ.get("ACN_SKLEARN_DATA")
    if data_home is None:
        cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        data_home = Path(cache) / "acn_sklearn"
    return Path(data_home).expanduser()


def _qm9pack_folder() -> Path:
    """Locate qm9pack's data folder without importing qm9pack (needs pkg_resources)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"qm9pack is not installed. {_INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    missing = [f for f in _CSV_FILES if not (folder / f).is_file()]
    if missing:
        raise ImportError(
            f"qm9pack's data files {missing} are missing in {folder}. {_INSTALL_HINT}"
        )
    return folder


def _source_key(folder: Path) -> str:
    """A fingerprint of the source CSVs and the parser: a mismatch means a stale cache."""
    parts = [f"format={_CACHE_FORMAT}", f"qm9pack={importlib.metadata.version('qm9pack')}"]
    for name in _CSV_FILES:
        stat = (folder / name).stat()
        parts.append(f"{name}:{stat.st_size}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _parse_lists(column, dtype=float) -> np.ndarray:
    """Parse a column of strings like ``[[0.5,0.,1.],...]`` into one flat array."""
    text = ",".join(column).replace("[", "").replace("]", "").replace("'", "")
    return np.array(text.split(","), dtype=dtype)


def _parse_csvs(folder: Path) -> dict[str, np.ndarray]:
    import pandas as pd

    wanted = ["XYZ_file", "Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang", "Mulliken_pop"]
    wanted += [column for column, _, _ in QM9_PROPERTIES.values()]
    frame = pd.concat(
        [pd.read_csv(folder / name, usecols=wanted) for name in _CSV_FILES],
        ignore_index=True,
    )
    counts = frame["N_atoms"].to_numpy()
    n, total = len(frame), int(counts.sum())
    symbols = _parse_lists(frame["Elements"], dtype=str)
    coordinates = _parse_lists(frame["XYZ_Ang"]).reshape(-1, 3)
    charges = _parse_lists(frame["Mulliken_pop"])
    if not len(symbols) == len(coordinates) == len(charges) == total:
        raise RuntimeError("qm9pack CSVs are inconsistent: atom counts do not match N_atoms")
    # Scatter the flat per-atom arrays into padded (n, QM9_MAX_ATOMS) slots.
    molecule = np.repeat(np.arange(n), counts)
    slot = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    X = np.zeros((n, QM9_MAX_ATOMS, 4))
    X[molecule, slot, 0] = [atomic_numbers[s] for s in symbols]
    X[molecule, slot, 1:] = coordinates
    mulliken = np.zeros((n, QM9_MAX_ATOMS))
    mulliken[molecule, slot] = charges
    properties = np.column_stack(
        [frame[column].to_numpy(float) for column, _, _ in QM9_PROPERTIES.values()]
    )
    return {
        "X": X,
        "properties": properties,
        "mulliken_charges": mulliken,
        "ids": frame["Index"].to_numpy(np.int64),
        "smiles": frame["SMILES"].to_numpy(str),
    }


def _read_cache(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """Load the cache if it is intact and current; None if it must be rebuilt."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}  # reading checks each CRC
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError):
        return None
    try:
        intact = (
            str(arrays.pop("source_key")) == key
            and arrays["X"].shape == (N_MOLECULES, QM9_MAX_ATOMS, 4)
            and arrays["properties"].shape == (N_MOLECULES, len(QM9_PROPERTIES))
            and arrays["mulliken_charges"].shape == (N_MOLECULES, QM9_MAX_ATOMS)
            and len(arrays["ids"]) == len(arrays["smiles"]) == N_MOLECULES
        )
    except KeyError:
        return None
    return arrays if intact else None


def _write_cache(path: Path, arrays: dict[str, np.ndarray], key: str) -> None:
    """Write atomically, so a crash or a concurrent reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: np.savez(handle, source_key=np.array(key), **arrays))


def _load_arrays(data_home) -> dict[str, np.ndarray]:
    folder = _qm9pack_folder()
    key = _source_key(folder)
    path = get_data_home(data_home) / f"qm9-v{_CACHE_FORMAT}.npz"
    arrays = _read_cache(path, key)
    if arrays is None:
        arrays = _parse_csvs(folder)
        if len(arrays["X"]) != N_MOLECULES:
            raise RuntimeError(f"expected {N_MOLECULES} QM9 molecules, parsed {len(arrays['X'])}")
        _write_cache(path, arrays, key)
    return arrays


def _atomization(X: np.ndarray, energy: np.ndarray, kind: str) -> np.ndarray:
    """Molecular energy minus free-atom energies, in kcal/mol."""
    reference = np.zeros(10)
    for z, e in ATOM_REFERENCE_ENERGIES[kind].items():
        reference[z] = e
    atoms = reference[X[:, :, 0].astype(int)].sum(axis=1)
    return (energy - atoms) * HARTREE_TO_KCAL_MOL


def _target_table(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    table = dict(zip(QM9_PROPERTIES, arrays["properties"].T, strict=True))
    for kind in ATOM_REFERENCE_ENERGIES:
        table[f"{kind}_atomization"] = _atomization(arrays["X"], table[kind], kind)
    return table


def load_qm9(
    *,
    target: str | list[str] | None = "U_atomization",
    n_molecules: int | None = None,
    random_state=None,
    return_X_y: bool = False,
    data_home: str | os.PathLike | None = None,
):
    """Load QM9 from the installed ``qm9pack`` wheel (offline).

    The CSVs are parsed once (a few seconds) and cached as an ``.npz`` file
    (about 180 MB, stored uncompressed: it loads twice and writes six times as
    fast as a compressed one) in :func:`get_data_home`; later calls read the
    cache (under a second). A cache that is corrupted (every member is
    CRC-checked on reading), truncated, or made from other source files or by
    another parser version is detected and rebuilt.

    Parameters
    ----------
    target : str or list of str or None, default="U_atomization"
        Property name(s) to return as ``target``: one name gives y of shape
        (n_molecules,), a list gives (n_molecules, n_targets), None gives all
        properties. Names: ``A, B, C, mu, alpha, homo, lumo, gap, r2, zpve, U0,
        U, H, G, Cv, U0_atomization, U_atomization, H_atomization,
        G_atomization`` (units in ``Bunch.target_units``), or, alone, the
        per-atom ``mulliken_charges``: y of shape (n_molecules, 29) aligned
        with the atoms of ``data``, 0 at padding.
    n_molecules : int, optional
        Return a random subset of this many molecules (in random order) instead
        of all 130,831 in file order.
    random_state : int, RandomState instance or None
        Seed of the subset; an int makes it reproducible.
    return_X_y : bool, default=False
        Return ``(X, y)`` instead of a Bunch.
    data_home : path, optional
        Cache folder; see :func:`get_data_home`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n_molecules, 29, 4) rows [Z, x, y, z] in Angstrom; ``target``;
        ``target_names``; ``target_units``; ``ids`` (QM9 index); ``smiles``;
        ``mulliken_charges`` (n_molecules, 29) in e, aligned with ``data``;
        ``DESCR``.
    (X, y) : tuple
        If ``return_X_y`` is True.

    Raises
    ------
    ImportError
        If qm9pack is not installed (``pip install "acn-sklearn[qm9]"``).
    ValueError
        For an unknown target name or a bad ``n_molecules``.

    Examples
    --------
    >>> from acn_sklearn.datasets import load_qm9
    >>> X, y = load_qm9(target="U_atomization", n_molecules=1000, random_state=0,
    ...                 return_X_y=True)
    >>> X.shape, y.shape
    ((1000, 29, 4), (1000,))
    """
    names = (
        TARGET_NAMES if target is None else [target] if isinstance(target, str) else list(target)
    )
    unknown = [name for name in names if name not in TARGET_UNITS]
    if unknown or not names:
        raise ValueError(
            f"unknown QM9 target(s) {unknown}; choose from {TARGET_NAMES + list(ATOMIC_TARGETS)}"
        )
    atomic = [name for name in names if name in ATOMIC_TARGETS]
    if atomic and not isinstance(target, str):
        raise ValueError(
            f"the per-atom target {atomic[0]!r} must be asked for alone (target={atomic[0]!r}): "
            "its y has one column per atom"
        )
    arrays = _load_arrays(data_home)
    if n_molecules is not None:
        if not 1 <= n_molecules <= N_MOLECULES:
            raise ValueError(f"n_molecules must be in [1, {N_MOLECULES}], got {n_molecules}")
        rng = check_random_state(random_state)
        rows = rng.choice(N_MOLECULES, size=n_molecules, replace=False)
        arrays = {name: values[rows] for name, values in arrays.items()}
    if atomic:
        y = arrays[target]
    else:
        table = _target_table(arrays)
        y = np.column_stack([table[name] for name in names])
        if isinstance(target, str):
            y = y[:, 0]
    if return_X_y:
        return arrays["X"], y
    return Bunch(
        data=arrays["X"],
        target=y,
        target_names=names,
        target_units={name: TARGET_UNITS[name] for name in names},
        ids=arrays["ids"],
        smiles=arrays["smiles"],
        mulliken_charges=arrays["mulliken_charges"],
        DESCR=DESCR,
    )
