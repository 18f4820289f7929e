"""Saving fitted models with what they predict, checked when they are loaded again.

A model file is one JSON header line (package version, target, unit, a SHA-256
of the payload) followed by the estimator pickled with joblib. Loading checks the
checksum before unpickling, so a truncated or corrupted file is refused with a
clear message instead of failing somewhere inside pickle, and refuses files
written by an incompatible package version.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import joblib

from . import __version__

__all__ = ["SavedModel", "load_model", "save_model"]

_MAGIC = "acn-sklearn model"
_FORMAT = 1


@dataclass
class SavedModel:
    """A fitted estimator with what it predicts.

    Attributes
    ----------
    estimator : sklearn estimator
        The fitted model.
    target : str or list of str
        Name(s) of the predicted property.
    unit : str or list of str
        Unit(s) of the predictions.
    version : str
        acn_sklearn version that saved it.
    info : dict
        Anything else recorded at saving time (training data, size, ...).
    """

    estimator: object
    target: str | list[str]
    unit: str | list[str]
    version: str = __version__
    info: dict | None = None


def _compatible(saved: str, running: str) -> bool:
    """Same release series: same major version, and same minor while major is 0."""
    a, b = saved.split("."), running.split(".")
    return a[0] == b[0] and (a[0] != "0" or a[1:2] == b[1:2])


def save_model(model: SavedModel, path: str | os.PathLike) -> Path:
    """Write a :class:`SavedModel` to ``path`` (atomically).

    Parameters
    ----------
    model : SavedModel
    path : path

    Returns
    -------
    Path
    """
    buffer = io.BytesIO()
    joblib.dump(model.estimator, buffer)
    payload = buffer.getvalue()
    header = {
        "magic": _MAGIC,
        "format": _FORMAT,
        "version": model.version,
        "target": model.target,
        "unit": model.unit,
        "info": model.info or {},
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    os.replace(tmp, path)
    return path


def load_model(path: str | os.PathLike) -> SavedModel:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path : path

    Returns
    -------
    SavedModel

    Raises
    ------
    ValueError
        If the file is not an acn-sklearn model, is truncated or corrupted, or
        was written by an incompatible acn_sklearn version.
    """
    raw = Path(path).read_bytes()
    first, _, payload = raw.partition(b"\n")
    try:
        header = json.loads(first)
        valid = header.get("magic") == _MAGIC
    except (ValueError, AttributeError):
        valid = False
    if not valid:
        raise ValueError(f"{path} is not an acn-sklearn model file")
    if hashlib.sha256(payload).hexdigest() != header["sha256"]:
        raise ValueError(f"{path} is corrupted or truncated (checksum mismatch); save it again")
    if header["format"] != _FORMAT or not _compatible(header["version"], __version__):
        raise ValueError(
            f"{path} was saved by acn-sklearn {header['version']} (file format "
            f"{header['format']}); this is acn-sklearn {__version__}, which cannot load it. "
            f"Install acn-sklearn=={header['version']} or fit the model again."
        )
    estimator = joblib.load(io.BytesIO(payload))
    return SavedModel(
        estimator, header["target"], header["unit"], header["version"], header["info"]
    )
