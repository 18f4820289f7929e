"""Model files: fitted models saved as data, safe to load from a file someone sent you.

A model file is one JSON header line (package version, target, unit, a SHA-256
of the payload) followed by the payload, a zip archive of

- ``model.json``: the estimator as a tree of plain values: its class (an
  estimator of the package, or one of :data:`SAFE_CLASSES`), its parameters and
  its fitted attributes;
- ``arrays/N.npy``: every array and tensor of the tree, read back with
  ``allow_pickle=False``.

Loading checks the checksum, builds only the package's estimators and the
classes of :data:`SAFE_CLASSES` (never calling anything a file names) and reads
arrays that cannot hold objects: a file with other content is refused, and
nothing in it runs. A network is saved as its parameters, fitted statistics and
weights (:meth:`~acn_sklearn.acn._base.ACNBase.__getstate_data__`) and rebuilt from
them. Files of format 1 are joblib pickles: unpickling runs whatever code the
file holds, so they load only with ``trusted=True``. Given the training
molecules of a kernel model, :func:`save_model` stores them instead of their
representations
(:class:`~acn_sklearn.kernel_ridge.CompactKernelRidge`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np

from . import __version__
from ._files import write_atomically

__all__ = ["SAFE_CLASSES", "SavedModel", "load_model", "save_model"]

_MAGIC = "acn-sklearn model"
#: 1: a joblib pickle (loads only when trusted); 2: data (this module).
_FORMAT = 2

#: The classes a model file may hold besides the package's own estimators (every
#: scikit-learn estimator defined in acn_sklearn, see :func:`_is_safe`): the fitted
#: state they are built of, scikit-learn's pipeline, and the torch losses and
#: optimizers a network's parameters name.
SAFE_CLASSES = frozenset(
    {
        "acn_sklearn.acn._statistics.TrainingStatistics",
        "acn_sklearn.acn._uncertainty.LastLayerPosterior",
        "acn_sklearn.domain.TrainingDomain",
        "sklearn.pipeline.Pipeline",
        "torch.nn.modules.loss.HuberLoss",
        "torch.nn.modules.loss.L1Loss",
        "torch.nn.modules.loss.MSELoss",
        "torch.nn.modules.loss.SmoothL1Loss",
        "torch.optim.adam.Adam",
        "torch.optim.adamw.AdamW",
        "torch.optim.sgd.SGD",
    }
)


def _is_safe(name: str) -> bool:
    """Whether a model file may build the class of this qualified name: one of
    :data:`SAFE_CLASSES`, or a scikit-learn estimator defined in acn_sklearn (a new
    model or representation of the package is saved without registering it). Only
    the package's own modules are imported to decide."""
    if name in SAFE_CLASSES:
        return True
    module, _, attribute = name.rpartition(".")
    if not module.startswith("acn_sklearn.") or not attribute.isidentifier():
        return False
    from sklearn.base import BaseEstimator

    try:
        cls = getattr(import_module(module), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(cls, type) and issubclass(cls, BaseEstimator) and cls.__module__ == module


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


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Encoder:
    """Turns an estimator into a JSON tree plus a list of arrays."""

    def __init__(self):
        self.arrays: list[np.ndarray] = []

    def array(self, value) -> dict:
        self.arrays.append(np.asarray(value))
        return {"__array__": len(self.arrays) - 1}

    def __call__(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise ValueError("an array of Python objects cannot be saved as data")
            return self.array(value)
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, tuple | set | frozenset):
            kind = {tuple: "__tuple__", set: "__set__", frozenset: "__frozenset__"}[type(value)]
            items = sorted(value, key=repr) if kind != "__tuple__" else value
            return {kind: [self(v) for v in items]}
        if isinstance(value, dict):
            return {"__items__": [[self(k), self(v)] for k, v in value.items()]}
        if isinstance(value, type):
            return {"__class__": self.safe(value)}
        if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
            return {"__tensor__": self.array(value.detach().cpu().numpy())["__array__"]}
        state = getattr(value, "__getstate_data__", None)
        data = state() if state is not None else vars(value)
        return {"__object__": self.safe(type(value)), "state": self(data)}

    @staticmethod
    def safe(cls: type) -> str:
        name = _class_name(cls)
        if not _is_safe(name):
            raise ValueError(
                f"a {name} cannot be saved as data (not an acn_sklearn estimator, nor in "
                "SAFE_CLASSES)"
            )
        return name


class _Decoder:
    """Builds an estimator back from its JSON tree, refusing any class not known safe."""

    def __init__(self, arrays, path):
        self.arrays, self.path = arrays, path

    def refuse(self, what: str):
        raise ValueError(f"{self.path} holds unexpected content ({what}); it was not loaded")

    def cls(self, name) -> type:
        if not isinstance(name, str) or not _is_safe(name):
            self.refuse(f"class {name!r}")
        module, _, attribute = name.rpartition(".")
        return getattr(import_module(module), attribute)

    def array(self, index) -> np.ndarray:
        if not isinstance(index, int) or not 0 <= index < len(self.arrays):
            self.refuse(f"array {index!r}")
        return self.arrays[index]

    def __call__(self, value):
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 2):
            self.refuse(f"value {str(value)[:60]!r}")
        if "__array__" in value:
            return self.array(value["__array__"])
        if "__tensor__" in value:
            import torch

            return torch.from_numpy(self.array(value["__tensor__"]).copy())
        if "__tuple__" in value:
            return tuple(self(v) for v in value["__tuple__"])
        if "__set__" in value:
            return {self(v) for v in value["__set__"]}
        if "__frozenset__" in value:
            return frozenset(self(v) for v in value["__frozenset__"])
        if "__items__" in value:
            return {_hashable(self(k)): self(v) for k, v in value["__items__"]}
        if "__class__" in value:
            return self.cls(value["__class__"])
        if "__object__" in value:
            cls = self.cls(value["__object__"])
            state = self(value.get("state"))
            if not isinstance(state, dict):
                self.refuse(f"the state of a {value['__object__']}")
            restore = getattr(cls, "__setstate_data__", None)
            if restore is not None:
                return restore(state)
            obj = object.__new__(cls)
            vars(obj).update(state)
            return obj
        self.refuse(f"value {str(value)[:60]!r}")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def _payload(estimator) -> bytes:
    encode = _Encoder()
    tree = encode(estimator)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("model.json", json.dumps(tree))
        for i, array in enumerate(encode.arrays):
            with archive.open(f"arrays/{i}.npy", "w") as file:
                np.save(file, array, allow_pickle=False)
    return buffer.getvalue()


def _estimator(payload: bytes, path):
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = set(archive.namelist())
        n_arrays = len(names) - 1
        expected = {"model.json"} | {f"arrays/{i}.npy" for i in range(n_arrays)}
        if names != expected:
            raise ValueError(f"{path} holds unexpected content (files {sorted(names)[:5]})")
        tree = json.loads(archive.read("model.json"))
        arrays = []
        for i in range(n_arrays):
            with archive.open(f"arrays/{i}.npy") as file:
                try:
                    arrays.append(np.lib.format.read_array(file, allow_pickle=False))
                except ValueError:
                    raise ValueError(
                        f"{path} holds unexpected content (array {i} is not plain data)"
                    ) from None
    return _Decoder(arrays, path)(tree)


def save_model(model: SavedModel, path: str | os.PathLike, *, molecules=None) -> Path:
    """Write a :class:`SavedModel` to ``path`` (atomically), as data.

    A process killed while it writes, or a full disk, leaves an earlier file at
    ``path`` intact (a temporary file, then :func:`os.replace`).

    Parameters
    ----------
    model : SavedModel
    path : path
    molecules : array-like or sequence, optional
        The training molecules of a kernel ridge pipeline, in the order it was
        fitted on: stored instead of their representations, which the loaded
        model rebuilds at prediction
        (:class:`~acn_sklearn.kernel_ridge.CompactKernelRidge`). A few of them
        are represented again to check that they are the model's own.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If ``molecules`` are given for another kind of model, or are not the
        model's training molecules, or the model holds something that cannot be
        saved as data (a class neither of the package nor in :data:`SAFE_CLASSES`).
    OSError
        If the file cannot be written (a full disk): ``path`` is left as it was.
    """
    estimator = model.estimator
    if molecules is not None:
        from .kernel_ridge import compact_pipeline

        estimator = compact_pipeline(estimator, molecules)
    payload = _payload(estimator)
    header = {
        "magic": _MAGIC,
        "format": _FORMAT,
        "version": model.version,
        "target": model.target,
        "unit": model.unit,
        "info": model.info or {},
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    content = json.dumps(header).encode() + b"\n" + payload
    return write_atomically(path, lambda handle: handle.write(content))


def load_model(path: str | os.PathLike, *, trusted: bool = False) -> SavedModel:
    """Read a model written by :func:`save_model`.

    Parameters
    ----------
    path : path
    trusted : bool, default=False
        Also load files of the older pickle format (1), which run the code they
        hold: only for files from a source you trust.

    Returns
    -------
    SavedModel

    Raises
    ------
    ValueError
        If the file is not an acn-sklearn model, is truncated or corrupted, holds
        anything but a model's data, is of the pickle format without
        ``trusted=True``, or was written by an incompatible acn_sklearn version.
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
    if header["format"] not in (1, _FORMAT) or not _compatible(header["version"], __version__):
        raise ValueError(
            f"{path} was saved by acn-sklearn {header['version']} (file format "
            f"{header['format']}); this is acn-sklearn {__version__}, which cannot load it. "
            f"Install acn-sklearn=={header['version']} or fit the model again."
        )
    if header["format"] == 1:
        if not trusted:
            raise ValueError(
                f"{path} is a model file of the older pickle format, and loading it runs "
                "the code it holds; if you trust its source, load it with "
                "load_model(path, trusted=True) (acn-sklearn predict --trusted) and save "
                "it again"
            )
        import joblib

        estimator = joblib.load(io.BytesIO(payload))
    else:
        estimator = _estimator(payload, path)
    return SavedModel(
        estimator, header["target"], header["unit"], header["version"], header["info"]
    )
