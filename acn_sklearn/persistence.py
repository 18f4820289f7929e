"""Saving fitted models with what they predict, checked when they are loaded again.

A model file is one JSON header line (package version, target, unit, a SHA-256
of the payload) followed by the estimator pickled with joblib. Loading checks the
checksum before unpickling, so a truncated or corrupted file is refused with a
clear message instead of failing somewhere inside pickle, and refuses files
written by an incompatible package version.

A kernel ridge model predicts from the representations of all its training
molecules, which dwarf everything else it holds (SLATM at N = 10,000: 957 MB of
float64). Given the training molecules, :func:`save_model` stores them instead,
and the loaded model's last step, a :class:`CompactKernelRidge`, rebuilds their
representations block by block at each prediction: the same predictions from a
file and a memory footprint of a few MB plus one block
(``docs/benchmarks/model_size.md``).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from . import __version__
from .kernel_ridge import KernelRidgeRegressor
from .molecules import check_molecules

__all__ = ["CompactKernelRidge", "SavedModel", "load_model", "save_model"]

#: Training molecules whose representations :class:`CompactKernelRidge` holds at a time.
BLOCK_MOLECULES = 1024
#: Training molecules :func:`save_model` represents again to check that they are the right ones.
_N_CHECKED = 8

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


class CompactKernelRidge(RegressorMixin, BaseEstimator):
    """A fitted kernel ridge regressor that keeps its training molecules, not their representations.

    The last step of a kernel model saved by :func:`save_model` with its training
    molecules. ``predict`` represents the training molecules again,
    ``block_size`` at a time, with the pipeline's own fitted representation, and
    sums each block's kernel times its part of the solution: the prediction of
    the full model up to the order of that sum (about 1e-10 relative: the
    solution's large coefficients cancel), at the
    cost of representing the training molecules once per ``predict`` call
    (SLATM: about 2 ms a molecule on one core). It does not keep the regressor's
    ``L_inv_`` (8 N^2 bytes: 800 MB at N = 10,000), so it predicts no standard
    deviation: save the model without ``molecules`` for that.

    Parameters
    ----------
    regressor : KernelRidgeRegressor
        The fitted regressor, without ``X_fit_``; its ``sigma_``, ``alpha_``
        and ``dual_coef_`` are those of the full model.
    representation : list of transformer
        The pipeline's fitted steps before the regressor, applied in order.
    molecules : ndarray of shape (n_train, max_atoms, 4)
        The training molecules, in the order of ``regressor.dual_coef_``.
    block_size : int, default=1024
        Training molecules represented at a time; bounds the memory of ``predict``.
    """

    def __init__(self, regressor, representation, molecules, block_size=BLOCK_MOLECULES):
        self.regressor = regressor
        self.representation = representation
        self.molecules = molecules
        self.block_size = block_size

    def __sklearn_is_fitted__(self):
        return True

    def fit(self, X, y):
        """Refuse: a compact model only predicts.

        Raises
        ------
        TypeError
            Always; fit the model's full pipeline (e.g. from ``make_model``) instead.
        """
        raise TypeError(
            "a CompactKernelRidge (a kernel model loaded from a file) only predicts; "
            "fit a new model to train on other molecules"
        )

    def _represent(self, molecules):
        for step in self.representation:
            molecules = step.transform(molecules)
        return molecules

    def predict(self, X, return_std=False):
        """Predict from representations of molecules, as the full regressor does.

        Parameters
        ----------
        X : ndarray
            Representations of the molecules to predict (what the pipeline's
            representation steps return).
        return_std : bool, default=False
            Refused: a compact model keeps no ``L_inv_``.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)

        Raises
        ------
        ValueError
            With ``return_std=True``.
        """
        if return_std:
            raise ValueError(
                "this kernel model was saved compactly (its training molecules, without the "
                "N x N factor a standard deviation needs); save it without molecules= "
                "(acn-sklearn fit --std) to predict standard deviations"
            )
        coef = self.regressor.dual_coef_
        y = np.zeros((len(X), *coef.shape[1:]))
        part = copy.copy(self.regressor)
        part.y_baseline_ = np.zeros_like(self.regressor.y_baseline_)
        for start in range(0, len(self.molecules), self.block_size):
            block = slice(start, start + self.block_size)
            part.X_fit_ = self._represent(self.molecules[block])
            part.dual_coef_ = coef[block]
            y += part.predict(X)
        return y + self.regressor.y_baseline_


def _compact(estimator, molecules):
    """``estimator`` with its kernel regressor's training representations replaced by molecules."""
    if not (
        isinstance(estimator, Pipeline)
        and len(estimator.steps) > 1
        and isinstance(estimator.steps[-1][1], KernelRidgeRegressor)
    ):
        raise ValueError(
            "only a kernel ridge pipeline (representation steps, then a KernelRidgeRegressor) "
            f"is saved with its training molecules; got {type(estimator).__name__}"
        )
    name, regressor = estimator.steps[-1]
    molecules = check_molecules(molecules)
    if len(molecules) != len(regressor.X_fit_):
        raise ValueError(
            f"{len(molecules)} training molecules given for a model fitted on "
            f"{len(regressor.X_fit_)}"
        )
    representation = [step for _, step in estimator.steps[:-1]]
    compact = CompactKernelRidge(copy.copy(regressor), representation, molecules)
    sample = np.unique(np.linspace(0, len(molecules) - 1, _N_CHECKED).astype(int))
    for i, again in zip(sample, compact._represent(molecules[sample]), strict=True):
        if not np.array_equal(again, regressor.X_fit_[i]):
            raise ValueError(
                f"training molecule {i} is not the one the model was fitted on: its "
                "representation differs; pass the training molecules in the order of fit"
            )
    del compact.regressor.X_fit_
    compact.regressor.__dict__.pop("L_inv_", None)
    compacted = copy.copy(estimator)
    compacted.steps = [*estimator.steps[:-1], (name, compact)]
    return compacted


def save_model(model: SavedModel, path: str | os.PathLike, *, molecules=None) -> Path:
    """Write a :class:`SavedModel` to ``path`` (atomically).

    Parameters
    ----------
    model : SavedModel
    path : path
    molecules : array-like or sequence, optional
        The training molecules of a kernel ridge pipeline, in the order it was
        fitted on: stored instead of their representations, which the loaded
        model rebuilds at prediction (:class:`CompactKernelRidge`). A few of
        them are represented again to check that they are the model's own.

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        If ``molecules`` are given for another kind of model, or are not the
        model's training molecules.
    """
    estimator = model.estimator if molecules is None else _compact(model.estimator, molecules)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer)
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
