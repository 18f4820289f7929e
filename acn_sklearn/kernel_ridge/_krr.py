"""Kernel ridge regression with the parameters chemists quote: kernel, sigma, lambda."""

from __future__ import annotations

from numbers import Real
from typing import ClassVar

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._kernels import BLOCK_ROWS, gaussian_kernel, laplacian
from ._local import BLOCK_ATOMS, local_gaussian_kernel
from ._loo import ALPHA_FACTORS, SIGMA_FACTORS, descend, distance_scale, loo_residuals
from ._memory import ENTRY_BYTES, check_kernel_fits

_GLOBAL_KERNELS = {"gaussian": gaussian_kernel, "laplacian": laplacian}
#: The power of sigma in each global kernel's exponent: k = exp(-d^p / (p sigma^p)).
_SIGMA_POWER = {"gaussian": 2, "laplacian": 1}


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
        representations lie on QM9 (benchmarks/kernels_loo.md); for other data
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
    n_features_in_ : int
        Features per molecule (2-D X) or per atom, Z included (3-D X).

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
        return _GLOBAL_KERNELS[self.kernel](A, B, sigma)

    def _build_overhead(self, X, n_sigmas=1):
        """Bytes of temporaries while the training kernel is built."""
        if self.kernel == "local_gaussian":
            Z = X[:, :, 0]
            most_atoms = max(np.count_nonzero(Z == z) for z in np.unique(Z[Z > 0]))
            blocks = 2 if n_sigmas == 1 else 3
            return blocks * BLOCK_ATOMS * most_atoms * ENTRY_BYTES
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
            factor = cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
        except LinAlgError:
            raise ValueError(
                f"the kernel plus alpha={self.alpha_:g} is not positive definite "
                "(duplicate molecules or a too large sigma); increase alpha"
            ) from None
        self.dual_coef_ = cho_solve(factor, y, check_finite=False)
        self.X_fit_ = X
        return self

    def _search(self, X, y, sigmas, alphas, relative):
        """Choose sigma and alpha by leave-one-out MAE; return the chosen training kernel.

        Sets ``sigma_``, ``alpha_``, ``cv_results_`` and ``loo_mae_``.
        """
        local = self.kernel == "local_gaussian"
        n_matrices = len(sigmas) + 1 if local else 2
        overhead = self._build_overhead(X, n_sigmas=len(sigmas))
        check_kernel_fits(len(X), self.max_memory, overhead=overhead, n_matrices=n_matrices)
        if local:
            kernels = {}

            def kernel_at(i):
                if i not in kernels:  # one pass over the atom pairs for i and its neighbours
                    batch = [j for j in range(i - 1, i + 2) if 0 <= j < len(sigmas)]
                    batch = [j for j in batch if j not in kernels]
                    kernels.update(zip(batch, self._kernel(X, sigma=sigmas[batch]), strict=True))
                return kernels[i].copy()

        else:
            # exp(-d^p / (p s^p)) = exp(-d^p / (p s_max^p)) ** ((s_max / s)^p)
            log_kernel = self._kernel(X, sigma=sigmas[-1])
            with np.errstate(divide="ignore"):  # a kernel value of 0 stays 0 at every sigma
                np.log(log_kernel, out=log_kernel)
            power = _SIGMA_POWER[self.kernel]

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

    def predict(self, X):
        """Predict y for X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_samples, max_atoms, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        y = np.empty((len(X), *self.dual_coef_.shape[1:]))
        for start in range(0, len(X), BLOCK_ROWS):
            rows = slice(start, start + BLOCK_ROWS)
            y[rows] = self._kernel(X[rows], self.X_fit_) @ self.dual_coef_
        return y + self.y_baseline_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.three_d_array = self.kernel == "local_gaussian"
        return tags
