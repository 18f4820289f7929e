"""A kernel ridge model that keeps its training molecules instead of their representations.

A kernel ridge model predicts from the representations of all its training
molecules, which dwarf everything else it holds (SLATM at N = 10,000: 957 MB of
float64). :func:`compact_pipeline` swaps a fitted pipeline's regressor for a
:class:`CompactKernelRidge`, which rebuilds those representations block by block
at each prediction: the same predictions and a memory footprint of a few MB plus
one block (``docs/benchmarks/kernels.md``). :func:`acn_sklearn.persistence.save_model`
saves a kernel model this way when given its training molecules.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from ..molecules import check_molecules
from ._krr import KernelRidgeRegressor
from ._memory import available_memory

__all__ = ["BLOCK_MOLECULES", "CompactKernelRidge", "compact_pipeline"]

#: Training molecules whose representations :class:`CompactKernelRidge` holds at a time.
BLOCK_MOLECULES = 1024
#: Share of the available memory the representations of all training molecules may take
#: for :class:`CompactKernelRidge` to keep them after its first ``predict``.
KEEP_FRACTION = 0.25
#: Training molecules :func:`compact_pipeline` represents again to check that they are
#: the right ones.
_N_CHECKED = 8


class CompactKernelRidge(RegressorMixin, BaseEstimator):
    """A fitted kernel ridge regressor that keeps its training molecules, not their representations.

    The last step of a kernel model saved by :func:`save_model` with its training
    molecules. ``predict`` represents the training molecules again,
    ``block_size`` at a time, with the pipeline's own fitted representation, and
    sums each block's kernel times its part of the solution: the prediction of
    the full model up to the order of that sum (about 1e-10 relative: the
    solution's large coefficients cancel). The first ``predict`` represents the
    training molecules (SLATM: about 2 ms a molecule on one core); if all their
    representations take at most :data:`KEEP_FRACTION` of the memory available,
    they are kept for the next calls of this process (never saved or pickled),
    which then cost what the full model's do. It does not keep the regressor's
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
        kept = vars(self).get("_kept")
        keeping = [] if kept is None else None  # a first call collects, if they fit
        for k, start in enumerate(range(0, len(self.molecules), self.block_size)):
            block = slice(start, start + self.block_size)
            part.X_fit_ = self._represent(self.molecules[block]) if kept is None else kept[k]
            part.dual_coef_ = coef[block]
            y += part.predict(X)
            if keeping is not None and (
                k or self._fits_in_memory(part.X_fit_, len(part.dual_coef_))
            ):
                keeping.append(part.X_fit_)
            else:
                keeping = None
        if keeping is not None:
            self._kept = keeping  # the next calls represent nothing
        return y + self.regressor.y_baseline_

    def _fits_in_memory(self, representations, n_block: int) -> bool:
        """Whether all training representations, estimated from the first block's, take
        at most :data:`KEEP_FRACTION` of the memory available now."""
        total = representations.nbytes / n_block * len(self.molecules)
        return total <= KEEP_FRACTION * available_memory()

    def __getstate__(self):
        # The kept representations are this process's: files and copies hold molecules.
        state = super().__getstate__()
        state.pop("_kept", None)
        return state

    def __getstate_data__(self) -> dict:
        """What a model file keeps (:mod:`acn_sklearn.persistence`): not the kept
        representations."""
        return {k: v for k, v in vars(self).items() if k != "_kept"}


def compact_pipeline(estimator, molecules):
    """``estimator`` with its kernel regressor's training representations replaced by molecules.

    Raises
    ------
    ValueError
        If ``estimator`` is not a kernel ridge pipeline, or ``molecules`` are not
        its training molecules (a few are represented again and compared).
    """
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
