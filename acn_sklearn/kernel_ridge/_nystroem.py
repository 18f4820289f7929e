"""Kernel ridge regression on m landmark molecules (Nystroem, subset of regressors).

Exact KRR needs the N x N training kernel: 97 GB at N = 110,000. The subset of
regressors writes the prediction as ``f(x) = sum_j c_j k(x, landmark_j)`` over m
training molecules and minimizes ``||y - K_nm c||^2 + alpha c^T K_mm c``. Its
normal equations only hold m x m matrices, accumulated over blocks of training
molecules whose representations are generated, used and dropped: memory is
O(m^2 + block x m), never O(N).

For a stable solve the features are whitened by the Cholesky factor of the
landmark kernel, ``K_mm = L L^T``: ``phi(x) = L^-1 k(landmarks, x)``, so that
``phi(a) . phi(b)`` is the Nystroem approximation of ``k(a, b)`` and the model is
ridge regression on phi, ``(Phi^T Phi + alpha I) w = Phi^T y`` with ``c = L^-T w``.
With every training molecule a landmark this is exact KRR.

The standard deviation of a prediction is that of the Gaussian process the model
approximates, in the deterministic-training-conditional form: the posterior
variance of the ridge weights, ``alpha phi^T (Phi^T Phi + alpha I)^-1 phi``, plus
what the landmarks miss of the prior, ``k(x, x) - phi . phi``. The second term
makes the variance grow away from the landmarks, where the subset of
regressors' own variance would fall to zero. Its scale is calibrated, as for
exact KRR, on closed-form leave-one-out residuals of ridge regression on phi,
``r_i / (1 - h_i)`` with the hat value ``h_i = phi_i^T (Phi^T Phi + alpha I)^-1
phi_i``, on at most :data:`CALIBRATION_SAMPLES` training molecules that are
not landmarks (the landmarks stay when a molecule is left out).

Why not the landmarks: a landmark's own kernel column is one of the m basis
functions, so its missed prior ``k(x, x) - phi . phi`` is 0 (the jitter, 1e-10)
and its leave-one-out variance ``alpha h / (1 - h)`` is of the order of alpha
(1e-8), while with m < N the ridge fit does not interpolate it and its
leave-one-out residual is as large as anyone's (tens to hundreds of kcal/mol).
Its z-score is then ~1e6, and a root-mean-square scale over the calibration
molecules is set by those few: with 20 landmarks of 100 Coulomb-matrix
molecules (Laplacian, sigma 400) the held-out std was ~1e6 kcal/mol against
~75 for exact KRR. Held-out molecules are never landmarks, so the non-landmark
training molecules, whose leave-one-out is the same situation (the basis fixed,
the molecule not in it), are the sample that calibrates their std: the scale
drops from 1.3e6 to ~1e2, as exact KRR's. With every training molecule a
landmark the model is exact KRR, whose leave-one-out the same formula gives, and
all molecules calibrate.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve, solve_triangular
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..molecules import check_molecules, check_targets, checked
from ..uncertainty import std_scale
from ._kernels import GLOBAL_KERNELS, padded_kernel
from ._memory import ENTRY_BYTES, available_memory

#: Jitter added to the landmark kernel's diagonal (which is 1) before its Cholesky
#: factorization; multiplied by 10 while the factorization fails, up to the last.
JITTERS = (1e-10, 1e-9, 1e-8, 1e-7, 1e-6)
#: Training molecules, drawn at random, whose leave-one-out residuals calibrate the std.
CALIBRATION_SAMPLES = 2000


def nystroem_memory(n_landmarks: int, block_size: int, n_features: int) -> int:
    """Bytes a Nystroem fit holds at its peak, by its largest arrays.

    Two m x m matrices (the normal equations and the Cholesky factor), two
    block x m kernels (the block's kernel and its whitened features), and the
    landmark and block representations, each counted twice (the list of
    per-molecule vectors and the array they are stacked into).

    Parameters
    ----------
    n_landmarks : int
        m.
    block_size : int
        Training molecules per block.
    n_features : int
        Length of a representation vector.

    Returns
    -------
    int
    """
    m, b, d = n_landmarks, block_size, n_features
    return ENTRY_BYTES * (2 * m * m + 2 * b * m + 2 * (m + b) * d)


def _largest_fitting(budget: int, block_size: int, n_features: int) -> int:
    """The largest m whose :func:`nystroem_memory` is within ``budget`` bytes."""
    b, d = block_size, n_features
    # 2 m^2 + m (2 b + 2 d) + 2 b d <= budget / 8, solved for m.
    linear, constant = 2 * b + 2 * d, 2 * b * d - budget // ENTRY_BYTES
    if constant > 0:  # not even the blocks fit
        return 0
    return (math.isqrt(linear * linear - 8 * constant) - linear) // 4


class NystroemKernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression on m landmark molecules, for N past the exact kernel's memory.

    A regressor on molecules: it owns the representation, so that training
    molecules are represented block by block and never all at once (global
    SLATM is ~12,000 floats per QM9 molecule: 10.5 GiB for 110,000). ``m``
    landmarks are drawn at random from the training molecules; the fit solves
    the subset-of-regressors normal equations
    ``(K_nm^T K_nm + alpha K_mm) c = K_nm^T y``, in a whitened, stable form
    (see the module's description), with memory O(m^2 + block_size x m).
    Fitting costs O(N m (d + m)) for N training molecules and d features, plus
    generating the N representations; predicting costs O(m d) per molecule.

    Parameters
    ----------
    representation : transformer
        A vector representation of molecules, e.g.
        :class:`~acn_sklearn.SLATM` or :class:`~acn_sklearn.CoulombMatrix`;
        cloned and fitted on the training molecules.
    kernel : {"gaussian", "laplacian"}, default="gaussian"
        ``"gaussian"``: ``exp(-||a - b||_2^2 / (2 sigma^2))``; ``"laplacian"``:
        ``exp(-||a - b||_1 / sigma)``, as in
        :class:`~acn_sklearn.KernelRidgeRegressor`.
    sigma : float, default=1.0
        Kernel length scale, in the units of the representation.
    alpha : float, default=1e-8
        Regularization strength lambda.
    n_landmarks : int, default=1000
        m, the landmark molecules. At most the number of training molecules:
        with every training molecule a landmark, the model is exact KRR.
    baseline : {"mean"} or None, default="mean"
        ``"mean"`` subtracts the training mean of y before solving and adds it
        back when predicting; None regresses y itself.
    block_size : int, default=2048
        Molecules represented and put through the kernel at once, in fit and
        predict. Does not change the result; bounds the memory.
    random_state : int, RandomState instance or None, default=None
        Draws the landmarks.
    max_memory : int, default=None
        Bytes the fit may use (:func:`nystroem_memory`). None: the memory
        available at fit time. Fitting refuses, before the landmarks are
        represented, an m whose matrices would not fit.

    Attributes
    ----------
    representation_ : transformer
        The fitted clone of ``representation``.
    landmark_indices_ : ndarray of shape (m,)
        Positions of the landmarks among the training molecules, increasing.
    landmarks_ : ndarray of shape (m, n_features)
        The landmarks' representations, needed to predict.
    dual_coef_ : ndarray of shape (m,) or (m, n_targets)
        The solution c.
    y_baseline_ : float or ndarray of shape (n_targets,)
        What was subtracted from y (0 with ``baseline=None``).
    jitter_ : float
        What was added to the landmark kernel's diagonal to factorize it.
    landmark_factor_ : ndarray of shape (m, m)
        Lower Cholesky factor of the landmark kernel (plus ``jitter_``).
    normal_factor_ : ndarray of shape (m, m)
        Lower Cholesky factor of the whitened normal equations
        ``Phi^T Phi + alpha I``. With ``landmark_factor_`` it gives
        ``predict(X, return_std=True)`` its standard deviation (2 x 8 m^2 bytes,
        256 MB at m = 4,000); the upper triangles hold leftovers, never read.
    std_scale_ : float or ndarray of shape (n_targets,)
        Calibration of the standard deviation on leave-one-out residuals.
    loo_std_ : ndarray of shape (n_calibration,) or (n_calibration, n_targets)
        Calibrated leave-one-out standard deviations of the calibration
        molecules (at most :data:`CALIBRATION_SAMPLES` training molecules that
        are not landmarks; all of them when every one is a landmark).

    See Also
    --------
    KernelRidgeRegressor : Exact KRR, on precomputed representations.
    sklearn.kernel_approximation.Nystroem : The same approximation as a
        transformer of feature vectors.

    Examples
    --------
    >>> from acn_sklearn import CoulombMatrix
    >>> from acn_sklearn.kernel_ridge import NystroemKernelRidge
    >>> water = ([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    >>> wider = ([8, 1, 1], [[0, 0, 0], [1.06, 0, 0], [-0.27, 1.03, 0]])
    >>> model = NystroemKernelRidge(CoulombMatrix(), kernel="laplacian", sigma=10.0,
    ...                             n_landmarks=1, random_state=0)
    >>> model.fit([water, wider], [1.0, 2.0]).landmarks_.shape
    (1, 6)
    """

    _parameter_constraints: ClassVar[dict] = {
        "representation": [HasMethods(["fit", "transform"])],
        "kernel": [StrOptions(set(GLOBAL_KERNELS))],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_landmarks": [Interval(Integral, 1, None, closed="left")],
        "baseline": [StrOptions({"mean"}), None],
        "block_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "max_memory": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        representation,
        kernel="gaussian",
        sigma=1.0,
        alpha=1e-8,
        n_landmarks=1000,
        baseline="mean",
        block_size=2048,
        random_state=None,
        max_memory=None,
    ):
        self.representation = representation
        self.kernel = kernel
        self.sigma = sigma
        self.alpha = alpha
        self.n_landmarks = n_landmarks
        self.baseline = baseline
        self.block_size = block_size
        self.random_state = random_state
        self.max_memory = max_memory

    def _represent(self, X):
        """Representations of a slice of validated molecules."""
        with checked(X):
            return self.representation_.transform(X)

    def _blocks(self, X):
        """``(rows, kernel between the block's molecules and the landmarks)`` per block."""
        for start in range(0, len(X), self.block_size):
            rows = slice(start, start + self.block_size)
            # wider than the landmarks: a Coulomb matrix of a larger molecule, see padded_kernel
            yield (
                rows,
                padded_kernel(self.kernel, self._represent(X[rows]), self.landmarks_, self.sigma),
            )

    def _check_memory(self, n_landmarks, n_samples):
        budget = available_memory() if self.max_memory is None else int(self.max_memory)
        block = min(self.block_size, n_samples)
        n_features = self.representation_.n_features_out_
        need = nystroem_memory(n_landmarks, block, n_features)
        if need > budget:
            raise MemoryError(
                f"Nystroem KRR with {n_landmarks:,} landmarks needs {need / 2**30:.2f} GiB "
                f"but only {budget / 2**30:.2f} GiB are available; at most "
                f"n_landmarks = {_largest_fitting(budget, block, n_features):,} fit "
                "(lower n_landmarks or block_size, or raise max_memory)"
            )

    def _factor_landmark_kernel(self):
        """Cholesky factor L of the landmark kernel, with the least jitter that works."""
        K = GLOBAL_KERNELS[self.kernel](self.landmarks_, None, self.sigma)
        diagonal = K.flat[:: len(K) + 1].copy()
        for jitter in JITTERS:
            K.flat[:: len(K) + 1] = diagonal + jitter
            try:
                L, _ = cho_factor(K, lower=True, check_finite=False)
            except LinAlgError:
                continue
            self.jitter_ = jitter
            return L  # the upper triangle holds leftovers, never read
        raise ValueError(
            f"the landmark kernel plus {JITTERS[-1]:g} is not positive definite "
            "(duplicate molecules or a too large sigma)"
        )

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
            Training molecules, in any format
            :func:`~acn_sklearn.molecules.check_molecules` accepts.
        y : array-like of shape (n_molecules,) or (n_molecules, n_targets)

        Returns
        -------
        self : NystroemKernelRidge
        """
        self._validate_params()
        X = check_molecules(X)
        y = check_targets(y, len(X))
        with checked(X):
            self.representation_ = clone(self.representation).fit(X)
        n_landmarks = min(self.n_landmarks, len(X))
        self._check_memory(n_landmarks, len(X))
        random_state = check_random_state(self.random_state)
        self.landmark_indices_ = np.sort(random_state.choice(len(X), n_landmarks, replace=False))
        self.landmarks_ = self._represent(X[self.landmark_indices_])
        L = self._factor_landmark_kernel()

        self.y_baseline_ = y.mean(axis=0) if self.baseline == "mean" else np.zeros(y.shape[1:])
        residual = y - self.y_baseline_
        normal = np.zeros((n_landmarks, n_landmarks))
        right = np.zeros((n_landmarks, *y.shape[1:]))
        for rows, K_block in self._blocks(X):
            features = solve_triangular(L, K_block.T, lower=True, check_finite=False)
            normal += features @ features.T
            right += features @ residual[rows]
        normal.flat[:: n_landmarks + 1] += self.alpha
        try:
            factor = cho_factor(normal, lower=True, overwrite_a=True, check_finite=False)
        except LinAlgError:
            raise ValueError(
                f"the normal equations plus alpha={self.alpha:g} are not positive definite; "
                "increase alpha"
            ) from None
        weights = cho_solve(factor, right, check_finite=False)
        self.dual_coef_ = solve_triangular(L, weights, lower=True, trans="T", check_finite=False)
        self.landmark_factor_, self.normal_factor_ = L, factor[0]
        # Held-out molecules are never landmarks: calibrate on training molecules that are
        # not either, unless every one is (exact KRR; see the module's description).
        candidates = np.setdiff1d(np.arange(len(X)), self.landmark_indices_)
        if len(candidates) == 0:
            candidates = np.arange(len(X))
        calibration = np.sort(
            random_state.choice(
                candidates, min(CALIBRATION_SAMPLES, len(candidates)), replace=False
            )
        )
        self._calibrate(X[calibration], residual[calibration])
        return self

    def _variances(self, K_block):
        """Posterior variance of f and hat values ``h`` of molecules with these landmark kernels."""
        phi = solve_triangular(self.landmark_factor_, K_block.T, lower=True, check_finite=False)
        u = solve_triangular(self.normal_factor_, phi, lower=True, check_finite=False)
        hat = np.einsum("ij,ij->j", u, u)
        missed = np.maximum(1.0 - np.einsum("ij,ij->j", phi, phi), 0.0)  # k(x, x) = 1
        return missed, hat

    def _calibrate(self, X, residual):
        """Set ``std_scale_`` and ``loo_std_`` from leave-one-out residuals of molecules X."""
        missed, hat, fitted = [], [], []
        for _, K_block in self._blocks(X):
            block_missed, block_hat = self._variances(K_block)
            missed.append(block_missed)
            hat.append(block_hat)
            fitted.append(K_block @ self.dual_coef_)
        missed, hat = np.concatenate(missed), np.concatenate(hat)
        shape = (-1, *[1] * (residual.ndim - 1))
        loo_residual = (residual - np.concatenate(fitted)) / (1.0 - hat).reshape(shape)
        loo_std = np.sqrt(missed + self.alpha * hat / (1.0 - hat))
        self.std_scale_ = std_scale(loo_residual, np.maximum(loo_std, np.finfo(float).tiny))
        self.loo_std_ = loo_std.reshape(shape) * self.std_scale_

    def predict(self, X, return_std=False):
        """Predict y for molecules, and optionally its standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_molecules, max_atoms, 4), or sequence
        return_std : bool, default=False
            Also return the calibrated posterior standard deviation of each
            prediction (see the module's description).

        Returns
        -------
        y : ndarray of shape (n_molecules,) or (n_molecules, n_targets)
        y_std : ndarray of the shape of y, only with ``return_std=True``
        """
        check_is_fitted(self)
        X = check_molecules(X)
        y = np.empty((len(X), *self.dual_coef_.shape[1:]))
        variance = np.empty(len(X))
        for rows, K_block in self._blocks(X):
            y[rows] = K_block @ self.dual_coef_
            if return_std:
                missed, hat = self._variances(K_block)
                variance[rows] = missed + self.alpha * hat
        y += self.y_baseline_
        if not return_std:
            return y
        return y, np.sqrt(variance).reshape(-1, *[1] * (y.ndim - 1)) * self.std_scale_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.three_d_array = True
        return tags
