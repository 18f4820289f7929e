"""Generate per-molecule representations in parallel, remembering what was computed.

A learning curve or a cross-validation fits the same representation on many
overlapping subsets of one dataset. The cache is keyed *per molecule* (a hash of
its atoms and of the representation's settings), so a molecule is represented
once, whatever subsets it later appears in. Each call that computes new molecules
stores them as one pair of ``.npy`` files (keys and values) in a folder of the
joblib ``memory`` location, read back memory-mapped.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import joblib
import numpy as np
from sklearn.utils.validation import check_memory
from threadpoolctl import threadpool_limits

#: Molecules per task sent to a joblib worker.
TASK_MOLECULES = 256


def _represent_all(represent_one, settings, molecules):
    # qmllib opens an OpenMP parallel region per molecule: far too little work to
    # share, and on a busy machine the threads' waiting made SLATM 5-15 times
    # slower (measured). Parallelism comes from joblib, over molecules.
    with threadpool_limits(1, user_api="openmp"):
        return [represent_one(z, r, **settings) for z, r in molecules]


def _generate(represent_one, settings, molecules, n_jobs):
    """Representations of ``molecules`` (a list of ``(Z, R)``) as one array."""
    if n_jobs in (None, 1) or len(molecules) <= TASK_MOLECULES:
        rows = _represent_all(represent_one, settings, molecules)
    else:
        tasks = [
            molecules[i : i + TASK_MOLECULES] for i in range(0, len(molecules), TASK_MOLECULES)
        ]
        parts = joblib.Parallel(n_jobs=n_jobs)(
            joblib.delayed(_represent_all)(represent_one, settings, task) for task in tasks
        )
        rows = [row for part in parts for row in part]
    return np.asarray(rows, dtype=np.float64)


def _molecule_keys(molecules, settings_key):
    keys = []
    for z, r in molecules:
        digest = hashlib.blake2b(settings_key, digest_size=16)
        digest.update(np.ascontiguousarray(z, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(r, dtype=np.float64).tobytes())
        keys.append(digest.digest())
    return np.array(keys, dtype="S16")


class _Store:
    """The cached representations of one setting: folder of ``<batch>.keys/values.npy``."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def lookup(self, keys):
        """Return ``(found, values)``: a mask over keys and the found rows, in order."""
        found = np.zeros(len(keys), dtype=bool)
        rows = {}
        for key_file in sorted(self.folder.glob("*.keys.npy")):
            stored = np.load(key_file)
            hit = np.isin(keys, stored) & ~found
            if not hit.any():
                continue
            values = np.load(
                key_file.with_name(key_file.name.replace(".keys", ".values")), mmap_mode="r"
            )
            position = {k: i for i, k in enumerate(stored)}
            for i in np.flatnonzero(hit):
                rows[i] = values[position[keys[i]]]
            found |= hit
        return found, [rows[i] for i in np.flatnonzero(found)]

    def save(self, keys, values):
        name = uuid.uuid4().hex
        for suffix, array in (("values", values), ("keys", keys)):  # keys last: complete
            tmp = self.folder / f"{name}.{suffix}.tmp.npy"
            np.save(tmp, array)
            os.replace(tmp, self.folder / f"{name}.{suffix}.npy")


def represent(molecules, represent_one, settings, *, n_jobs=None, memory=None):
    """Represent molecules, through the per-molecule cache when ``memory`` is set.

    Parameters
    ----------
    molecules : list of (ndarray, ndarray)
        ``(Z, R)`` of each molecule, without padding.
    represent_one : callable
        Module-level function ``(Z, R, **settings) -> ndarray``.
    settings : dict
        Keyword arguments of ``represent_one``; part of the cache key.
    n_jobs : int, default=None
        joblib workers generating the missing representations.
    memory : None, str or joblib.Memory, default=None
        Where to cache (as sklearn's ``Pipeline(memory=...)``); None: no cache.

    Returns
    -------
    ndarray of shape (n_molecules, ...)
    """
    memory = check_memory(memory)
    if memory.location is None:
        return _generate(represent_one, settings, molecules, n_jobs)
    settings_key = joblib.hash((represent_one.__module__, represent_one.__qualname__, settings))
    store = _Store(Path(memory.location) / "acn_sklearn_representations" / settings_key)
    keys = _molecule_keys(molecules, settings_key.encode())
    found, cached = store.lookup(keys)
    missing = np.flatnonzero(~found)
    if len(missing):
        new = _generate(represent_one, settings, [molecules[i] for i in missing], n_jobs)
        store.save(keys[missing], new)
    out = np.empty((len(molecules), *(cached[0] if cached else new[0]).shape))
    if cached:
        out[found] = np.stack(cached)
    if len(missing):
        out[missing] = new
    return out
