"""Kernel ridge regression with the parameters chemists quote: kernel, sigma, lambda."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from scipy.linalg import LinAlgError
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ..uncertainty import std_scale
from ._kernels import BLOCK_ROWS, GLOBAL_KERNELS, KERNEL_POWER, padded_kernel
from ._local import BLOCK_ATOMS, local_gaussian_kernel
from ._loo import (
    ALPHA_FACTORS,
    SIGMA_FACTORS,
    descend,
    distance_scale,
    inverse_cholesky_factor,
    loo_residuals,
)
from ._memory import ENTRY_BYTES, check_kernel_fits


class KernelRidgeRegressor(RegressorMixin, BaseEstimator):
    """Kernel ridge regression solved by Cholesky, with fast kernels.

    Fits ``y - baseline = K(X, X_fit) c`` with ``(K + alpha I) c = y - baseline``.
    The Gaussian kernel is built from BLAS matrix products, the Laplacian kernel by
    qmllib's OpenMP Fortran routine, the local kernel from BLAS products between
    the atomic environments of each element (see :func:`local_gaussian_kernel`).

    Parameters
    ----------
    kernel : {"gaussian", "laplacian", "local_gaussian"}, default="gaussian"
        ``"gaussian"``: ``exp(-||a - b||_2^2 / (2 sigma^2))``; ``"laplacian"``:
        ``exp(-||a - b||_1 / sigma)``; both on 2-D X (one vector per molecule).
        ``"local_gaussian"``: the sum of Gaussians over all pairs of atoms of the
        same element of two molecules, on 3-D X of shape
        (n_molecules, max_atoms, 1 + n_features) with rows ``[Z, environment...]``
        as :class:`~acn_sklearn.FCHL19` returns.
    sigma : float, "auto" or array-like of float, default=1.0
        Kernel length scale, in the units of the representation. ``"auto"`` or
        an array of candidates: chosen from the training data by leave-one-out
        MAE (below). ``"auto"`` tries the median distance between training
        samples (between atoms of the same element for ``"local_gaussian"``)
        times ``2**k``, k from 1 to 7 (Gaussian), 0 to 6 (Laplacian) or 1 to
        4 (local), in steps of 1/2: wide kernels, where the optima of molecular
        representations lie on QM9 (docs/benchmarks/kernels.md); for other data
        pass candidates.
    alpha : float, "auto" or array-like of float, default=1e-8
        Regularization strength lambda added to the kernel's diagonal.
        ``"auto"`` or an array of candidates: chosen with sigma. ``"auto"``
        tries the mean of the kernel's diagonal times 1e-12, 1e-10, ..., 1e-4.
    baseline : {"mean"} or None, default="mean"
        ``"mean"`` subtracts the training mean of y before solving and adds it back
        when predicting; None regresses y itself (far from the training data the
        prediction then falls to 0).
    max_memory : int, default=None
        Bytes the training kernel may use. None: the memory available at fit
        time. Fitting refuses, before allocating, a kernel larger than this.

    Attributes
    ----------
    sigma_ : float
        The sigma of the fitted model (``sigma`` itself when it is a float).
    alpha_ : float
        The alpha of the fitted model.
    cv_results_ : dict of ndarray
        Only when sigma or alpha is searched: ``"sigma"``, ``"alpha"`` and
        ``"loo_mae"`` (mean absolute leave-one-out error; inf where ``K + alpha
        I`` was not positive definite) of every candidate evaluated, in the
        order evaluated. For 2-D y, ``"loo_mae"`` is the mean over targets of
        each target's MAE divided by its standard deviation (the criterion
        that chooses one sigma and alpha for all targets), and
        ``"loo_mae_per_target"`` (n_evaluated, n_targets) holds each target's
        MAE in its own unit.
    loo_mae_ : float
        Only when searched: ``"loo_mae"`` at ``sigma_``, ``alpha_``.
    X_fit_ : ndarray
        The training representations, needed to predict.
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The solution c.
    y_baseline_ : float or ndarray of shape (n_targets,)
        What was subtracted from y (0 with ``baseline=None``).
    L_inv_ : ndarray of shape (n_samples, n_samples)
        Inverse of the lower Cholesky factor L of ``K + alpha_ I``, needed only
        by ``predict(X, return_std=True)``: 8 N^2 bytes, 800 MB at N = 10,000.
        A model saved without it still predicts, without standard deviations.
    std_scale_ : float or ndarray of shape (n_targets,)
        Calibration of the posterior standard deviation: leave-one-out
        residuals divided by ``std_scale_`` times their leave-one-out posterior
        standard deviation have unit root mean square
        (:func:`acn_sklearn.uncertainty.std_scale`).
    loo_std_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The calibrated standard deviation of each training sample's
        leave-one-out prediction: the uncertainty of molecules the model did
        not train on, the reference of the applicability domain.
    n_features_in_ : int
        Features per molecule (2-D X) or per atom, Z included (3-D X). A global
        kernel also predicts X with more features, comparing it with the
        training samples zero-padded (the Coulomb matrix of a molecule larger
        than the representation was fitted for, see
        :class:`~acn_sklearn.CoulombMatrix`).

    Notes
    -----
    The leave-one-out error of every training sample follows in closed form from one
    Cholesky factorisation of ``K + alpha I`` and the inverse of its factor, so a
    candidate costs one factorisation, not N refits (see
    :mod:`acn_sklearn.kernel_ridge._loo`). The kernel of every candidate sigma comes
    from one set of distances: for the global kernels, the kernel at the largest
    sigma raised to powers; for the local kernel, one pass over the atom-pair
    distances builds a sigma and its two neighbours on the grid (the exponentials
    and sums per sigma cost about half the distances at N = 10,000, so sigmas are
    built as the search reaches them). Candidates are visited by coordinate descent
    from the middle of the grid, stepping along sigma or alpha while the
    leave-one-out MAE falls by over 0.1 %; the model is then refitted at the best.
    The subtracted mean (``baseline="mean"``) is that of all training samples.

    ``predict(X, return_std=True)`` also returns the posterior standard deviation
    of a Gaussian process with the same kernel and noise alpha,
    ``sqrt(k(x, x) - ||L^-1 k_x||^2)`` with ``K + alpha I = L L^T``, times
    ``std_scale_``. The fit inverts the Cholesky factor in place (one triangular
    inverse, about as long as the factorisation, and no further N x N matrix)
    and keeps ``L^-1``: it gives the solution ``c = L^-T L^-1 y``, the
    leave-one-out residuals ``c_i / [G^-1]_ii`` and leave-one-out posterior
    variances ``1 / [G^-1]_ii - alpha`` that calibrate the scale, and the
    standard deviations of predictions by one matrix product.

    See Also
    --------
    sklearn.kernel_ridge.KernelRidge : The same model with sklearn's kernels and
        its ``gamma`` parametrization.

    Examples
    --------
    >>> import numpy as np
    >>> from acn_sklearn import KernelRidgeRegressor
    >>> X = np.linspace(0, 1, 20)[:, None]
    >>> model = KernelRidgeRegressor(sigma=0.2, alpha=1e-6).fit(X, np.sin(6 * X[:, 0]))
    >>> float(np.round(model.predict([[0.5]])[0], 3))
    0.141
    >>> searched = KernelRidgeRegressor(sigma=[0.1, 0.2, 0.4, 0.8], alpha=[1e-8, 1e-6])
    >>> searched = searched.fit(X, np.sin(6 * X[:, 0]))
    >>> searched.sigma_, searched.alpha_, len(searched.cv_results_["loo_mae"])
    (0.4, 1e-08, 6)
    """

    _parameter_constraints: ClassVar[dict] = {
        "kernel": [StrOptions({"gaussian", "laplacian", "local_gaussian"})],
        "sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"}), "array-like"],
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"}), "array-like"],
        "baseline": [StrOptions({"mean"}), None],
        "max_memory": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(self, kernel="gaussian", sigma=1.0, alpha=1e-8, baseline="mean", max_memory=None):
        self.kernel = kernel
        self.sigma = sigma
        self.alpha = alpha
        self.baseline = baseline
        self.max_memory = max_memory

    def _check_X(self, X, reset):
        if self.kernel != "local_gaussian":
            if not reset and hasattr(self, "n_features_in_"):
                X = check_array(X, dtype=np.float64)
                if X.shape[1] > self.n_features_in_:  # compared zero-padded: padded_kernel
                    return X
            return validate_data(self, X, reset=reset, dtype=np.float64)
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3 or X.shape[2] < 2:
            raise ValueError(
                "kernel='local_gaussian' needs X of shape (n_molecules, max_atoms, "
                f"1 + n_features) with rows [Z, environment...]; got shape {X.shape}"
            )
        X = check_array(X, allow_nd=True)
        if reset:
            self.n_features_in_ = X.shape[2]
        elif X.shape[2] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[2]} features per atom, but {type(self).__name__} was "
                f"fitted with {self.n_features_in_}"
            )
        return X

    def _kernel(self, A, B=None, sigma=None):
        sigma = self.sigma_ if sigma is None else sigma
        if self.kernel == "local_gaussian":
            return local_gaussian_kernel(A, B, sigma)
        return GLOBAL_KERNELS[self.kernel](A, B, sigma)

    def _n_matrices(self):
        """N x N matrices a fit holds at once: 1 at a fixed sigma and alpha; while
        searching, 2 (the log-kernel or the last sigma's local kernel, and the
        candidate's copy that is factorised)."""
        if isinstance(self.sigma, str):
            n_sigmas = len(SIGMA_FACTORS[self.kernel])
        else:
            n_sigmas = np.unique(np.ravel(self.sigma)).size
        searched = isinstance(self.alpha, str) or np.unique(np.ravel(self.alpha)).size > 1
        return 1 if n_sigmas == 1 and not searched else 2

    def kernel_memory(self, n_samples):
        """Bytes of the ``n_samples x n_samples`` matrices a fit on ``n_samples`` holds.

        The float64 training kernel, and while sigma or alpha is searched the
        further N x N matrices of the search; the temporaries of building the
        kernel come on top (:meth:`fit` checks them too).

        Parameters
        ----------
        n_samples : int
            Training-set size N.

        Returns
        -------
        int
            Bytes; compare with the memory available before a fit.

        Examples
        --------
        >>> from acn_sklearn import KernelRidgeRegressor
        >>> KernelRidgeRegressor(sigma=1.0, alpha=1e-8).kernel_memory(10_000)
        800000000
        """
        return self._n_matrices() * int(n_samples) ** 2 * ENTRY_BYTES

    def _build_overhead(self, X):
        """Bytes of temporaries while the training kernel is built."""
        if self.kernel == "local_gaussian":
            Z = X[:, :, 0]
            most_atoms = max(np.count_nonzero(Z == z) for z in np.unique(Z[Z > 0]))
            return 2 * BLOCK_ATOMS * most_atoms * ENTRY_BYTES
        return X.nbytes

    def _candidates(self, name, X):
        """The values of ``sigma`` or ``alpha`` to try, and whether they are relative.

        Relative alphas multiply the mean diagonal of the kernel.
        """
        value = getattr(self, name)
        if isinstance(value, str):
            if name == "alpha":
                return ALPHA_FACTORS, True
            return SIGMA_FACTORS[self.kernel] * distance_scale(X, self.kernel), False
        values = np.asarray(value, dtype=np.float64).ravel()
        lowest = 0.0 if name == "alpha" else np.nextafter(0.0, 1.0)
        if values.size == 0 or not np.all(np.isfinite(values)) or values.min() < lowest:
            kind = "non-negative" if name == "alpha" else "positive"
            raise ValueError(
                f"{name} must be {kind} and finite, or a non-empty array of such "
                f"candidates, or 'auto'; got {value!r}"
            )
        return np.unique(values), False

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, max_atoms, n_features)
            Representations, as the representation transformers return them.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self : KernelRidgeRegressor
        """
        self._validate_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        X = self._check_X(X, reset=True)
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
        for searched in ("cv_results_", "loo_mae_"):  # from an earlier fit
            self.__dict__.pop(searched, None)
        self.y_baseline_ = y.mean(axis=0) if self.baseline == "mean" else np.zeros(y.shape[1:])
        y = y - self.y_baseline_
        sigmas, _ = self._candidates("sigma", X)
        alphas, relative = self._candidates("alpha", X)
        if len(sigmas) == 1 and not relative and len(alphas) == 1:
            self.sigma_, self.alpha_ = float(sigmas[0]), float(alphas[0])
            check_kernel_fits(len(X), self.max_memory, overhead=self._build_overhead(X))
            K = self._kernel(X)
        else:
            K = self._search(X, y, sigmas, alphas, relative)
        K.flat[:: len(K) + 1] += self.alpha_
        try:
            L_inv = inverse_cholesky_factor(K)
        except LinAlgError:
            raise ValueError(
                f"the kernel plus alpha={self.alpha_:g} is not positive definite "
                "(duplicate molecules or a too large sigma); increase alpha"
            ) from None
        self.dual_coef_ = L_inv.T @ (L_inv @ y)
        self.X_fit_ = X
        self.L_inv_ = L_inv
        self._calibrate()
        return self

    def _calibrate(self):
        """Set ``std_scale_`` and ``loo_std_`` from the closed-form leave-one-out errors."""
        inverse = np.einsum("ij,ij->j", self.L_inv_, self.L_inv_)  # the diagonal of G^-1
        shape = (-1, *[1] * (self.dual_coef_.ndim - 1))
        residuals = self.dual_coef_ / inverse.reshape(shape)
        loo_std = np.sqrt(np.maximum(1.0 / inverse - self.alpha_, np.finfo(float).tiny))
        self.std_scale_ = std_scale(residuals, loo_std)
        self.loo_std_ = loo_std.reshape(shape) * self.std_scale_

    def _search(self, X, y, sigmas, alphas, relative):
        """Choose sigma and alpha by leave-one-out MAE; return the chosen training kernel.

        Sets ``sigma_``, ``alpha_``, ``cv_results_`` and ``loo_mae_``.
        """
        local = self.kernel == "local_gaussian"
        overhead = self._build_overhead(X)
        check_kernel_fits(len(X), self.max_memory, overhead=overhead, n_matrices=self._n_matrices())
        if local:
            # One kernel at a time: the last sigma's, kept while alpha is searched (a
            # copy is factorised). Holding every sigma visited cost 9.1 GB at N = 10,000
            # for FCHL19, against 5.2 GB for one fit; a sigma visited again is rebuilt.
            kernels = {}

            def kernel_at(i):
                if i not in kernels:
                    kernels.clear()
                    kernels[i] = self._kernel(X, sigma=sigmas[[i]])[0]
                return kernels[i].copy()

        else:
            # exp(-d^p / (p s^p)) = exp(-d^p / (p s_max^p)) ** ((s_max / s)^p)
            log_kernel = self._kernel(X, sigma=sigmas[-1])
            with np.errstate(divide="ignore"):  # a kernel value of 0 stays 0 at every sigma
                np.log(log_kernel, out=log_kernel)
            power = KERNEL_POWER[self.kernel]

            def kernel_at(i):
                K = np.multiply(log_kernel, (sigmas[-1] / sigmas[i]) ** power)
                return np.exp(K, out=K)

        # Several targets share sigma and alpha, so that one factorisation solves them all:
        # each target's error is measured in its own standard deviations.
        scale = np.ones(y.shape[1:])
        if y.ndim == 2:
            spread = y.std(axis=0)
            scale[spread > 0] = spread[spread > 0]
        results, per_target = [], []

        def score(index):
            K = kernel_at(index[0])
            alpha = alphas[index[1]] * (K.diagonal().mean() if relative else 1.0)
            try:
                maes = np.abs(loo_residuals(K, y, alpha, overwrite_K=True)).mean(axis=0)
            except LinAlgError:
                maes = np.full(y.shape[1:], np.inf)
            mae = float(np.mean(maes / scale))
            results.append((sigmas[index[0]], alpha, mae))
            per_target.append(maes)
            return mae

        start = (len(sigmas) // 2, len(alphas) // 2)
        best, scores = descend(score, (len(sigmas), len(alphas)), start)
        columns = map(np.array, zip(*results, strict=True))
        self.cv_results_ = dict(zip(("sigma", "alpha", "loo_mae"), columns, strict=True))
        if y.ndim == 2:
            self.cv_results_["loo_mae_per_target"] = np.array(per_target)
        self.sigma_, self.alpha_, self.loo_mae_ = map(float, results[list(scores).index(best)])
        if not np.isfinite(self.loo_mae_):
            raise ValueError(
                "no candidate made the kernel plus alpha positive definite (duplicate "
                "molecules or too large sigmas); increase alpha"
            )
        return kernel_at(best[0])

    def _self_kernel(self, X):
        """``k(x, x)`` of every sample: 1 for the global kernels."""
        if self.kernel != "local_gaussian":
            return np.ones(len(X))
        return np.array([local_gaussian_kernel(x[None], None, self.sigma_)[0, 0] for x in X])

    def predict(self, X, return_std=False):
        """Predict y for X, and optionally its standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, max_atoms, n_features)
        return_std : bool, default=False
            Also return the calibrated Gaussian-process posterior standard
            deviation of each prediction (see Notes).

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray of the shape of y, only with ``return_std=True``

        Raises
        ------
        ValueError
            With ``return_std=True`` if the model was saved without ``L_inv_``.
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        if return_std and getattr(self, "L_inv_", None) is None:
            raise ValueError(
                "this KernelRidgeRegressor was saved without its inverse Cholesky factor "
                "L_inv_, so it predicts no standard deviation; refit it"
            )
        y = np.empty((len(X), *self.dual_coef_.shape[1:]))
        variance = np.empty(len(X))
        for start in range(0, len(X), BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            if self.kernel == "local_gaussian":
                K = self._kernel(X[rows], self.X_fit_)
            else:
                K = padded_kernel(self.kernel, X[rows], self.X_fit_, self.sigma_)
            y[rows] = K @ self.dual_coef_
            if return_std:
                v = self.L_inv_ @ K.T
                variance[rows] = self._self_kernel(X[rows]) - np.einsum("ij,ij->j", v, v)
        y += self.y_baseline_
        if not return_std:
            return y
        std = np.sqrt(np.maximum(variance, 0.0))
        return y, std.reshape(-1, *[1] * (y.ndim - 1)) * self.std_scale_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.three_d_array = self.kernel == "local_gaussian"
        return tags
