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
from ._memory import ENTRY_BYTES, check_kernel_fits

_GLOBAL_KERNELS = {"gaussian": gaussian_kernel, "laplacian": laplacian}


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
    sigma : float, default=1.0
        Kernel length scale, in the units of the representation.
    alpha : float, default=1e-8
        Regularization strength lambda added to the kernel's diagonal.
    baseline : {"mean"} or None, default="mean"
        ``"mean"`` subtracts the training mean of y before solving and adds it back
        when predicting; None regresses y itself (far from the training data the
        prediction then falls to 0).
    max_memory : int, default=None
        Bytes the training kernel may use. None: the memory available at fit
        time. Fitting refuses, before allocating, a kernel larger than this.

    Attributes
    ----------
    X_fit_ : ndarray
        The training representations, needed to predict.
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The solution c.
    y_baseline_ : float or ndarray of shape (n_targets,)
        What was subtracted from y (0 with ``baseline=None``).
    n_features_in_ : int
        Features per molecule (2-D X) or per atom, Z included (3-D X).

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
    """

    _parameter_constraints: ClassVar[dict] = {
        "kernel": [StrOptions({"gaussian", "laplacian", "local_gaussian"})],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
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

    def _kernel(self, A, B=None):
        if self.kernel == "local_gaussian":
            return local_gaussian_kernel(A, B, self.sigma)
        return _GLOBAL_KERNELS[self.kernel](A, B, self.sigma)

    def _build_overhead(self, X):
        """Bytes of temporaries while the training kernel is built."""
        if self.kernel == "local_gaussian":
            Z = X[:, :, 0]
            most_atoms = max(np.count_nonzero(Z == z) for z in np.unique(Z[Z > 0]))
            return 2 * BLOCK_ATOMS * most_atoms * ENTRY_BYTES
        return X.nbytes

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
        check_kernel_fits(len(X), self.max_memory, overhead=self._build_overhead(X))
        self.y_baseline_ = y.mean(axis=0) if self.baseline == "mean" else np.zeros(y.shape[1:])
        K = self._kernel(X)
        K.flat[:: len(K) + 1] += self.alpha
        try:
            factor = cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
        except LinAlgError:
            raise ValueError(
                f"the kernel plus alpha={self.alpha:g} is not positive definite "
                "(duplicate molecules or a too large sigma); increase alpha"
            ) from None
        self.dual_coef_ = cho_solve(factor, y - self.y_baseline_, check_finite=False)
        self.X_fit_ = X
        return self

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
