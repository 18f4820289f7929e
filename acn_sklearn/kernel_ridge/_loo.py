"""Kernel ridge hyperparameters chosen by closed-form leave-one-out errors.

For a kernel matrix K, a regularization alpha, ``G = K + alpha I`` and the
solution ``c = G^-1 y``, the model fitted without sample i misses it by

    y_i - f_{-i}(x_i) = c_i / [G^-1]_ii

(the hat-matrix identity of ridge regression), so all N leave-one-out errors
cost one factorisation of G instead of N refits. The inverse diagonal comes
from the Cholesky factor: ``[G^-1]_ii`` is the squared norm of column i of
``L^-1``. At N = 10,000 on 2 cores, ``trtri`` and the column sums took 15.6 s
where LAPACK's ``potri`` (the whole inverse) took 17.7 s, after a 12 s
``potrf``; the eigendecomposition that would serve every alpha at once took
over 100 s (docs/benchmarks/kernels.md). Each (sigma, alpha)
candidate therefore costs one Cholesky factorisation and one triangular
inverse.

Candidates lie on a grid and are visited by coordinate descent from its middle
(:func:`descend`): along each axis, step while the leave-one-out MAE falls by
more than 0.1 %.
The "auto" grids are relative to the data: sigmas are multiples of the median
distance between training samples (between atoms of the same element for the
local kernel), alphas multiples of the mean of the kernel's diagonal.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import LinAlgError, lapack
from scipy.spatial.distance import pdist

from ._local import _ElementAtoms

#: ``sigma="auto"``: multiples of the median distance between training samples.
SIGMA_FACTORS = {
    "gaussian": 2.0 ** np.arange(1.0, 7.5, 0.5),
    "laplacian": 2.0 ** np.arange(0.0, 6.5, 0.5),
    "local_gaussian": 2.0 ** np.arange(1.0, 4.5, 0.5),
}
#: ``alpha="auto"``: multiples of the mean diagonal of the training kernel.
ALPHA_FACTORS = 10.0 ** np.arange(-12.0, -3.0, 2.0)
#: Samples (molecules for the local kernel) whose distances give the median.
SCALE_SAMPLES = 500


def loo_residuals(K, y, alpha, *, overwrite_K=False):
    """Leave-one-out residuals of kernel ridge regression, in closed form.

    Parameters
    ----------
    K : ndarray of shape (n_samples, n_samples)
        Symmetric training kernel.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Targets, baseline already removed.
    alpha : float
        Regularization added to the diagonal.
    overwrite_K : bool, default=False
        Factorise K in place (it is destroyed) instead of a copy.

    Returns
    -------
    residuals : ndarray of the shape of y
        ``y_i`` minus the prediction of the model fitted on all samples but i.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``K + alpha I`` is not positive definite.
    """
    G = K if overwrite_K else K.copy()
    G.flat[:: len(G) + 1] += alpha
    L_inv = inverse_cholesky_factor(G)
    inverse_diagonal = np.einsum("ij,ij->j", L_inv, L_inv)
    c = L_inv.T @ (L_inv @ y)
    return c / inverse_diagonal.reshape(-1, *[1] * (y.ndim - 1))


def inverse_cholesky_factor(G):
    """``L^-1`` for the lower Cholesky factor L of ``G = L L^T``, computed in G's buffer.

    ``G^-1 = L^-T L^-1``, and ``[G^-1]_ii`` is the squared norm of column i of
    ``L^-1``.

    Parameters
    ----------
    G : ndarray of shape (n, n)
        Symmetric positive definite, C- or Fortran-ordered; destroyed.

    Returns
    -------
    ndarray of shape (n, n)
        Lower triangular (upper triangle zero), Fortran-ordered, sharing G's memory.

    Raises
    ------
    numpy.linalg.LinAlgError
        If G is not positive definite.
    """
    # G is symmetric: the Fortran-ordered view of its buffer (G itself, or G.T when G
    # is C-ordered) is the same matrix, and LAPACK works on it in place.
    G = G if G.flags.f_contiguous else G.T
    L, info = lapack.dpotrf(G, lower=True, clean=True, overwrite_a=True)
    if info != 0:
        raise LinAlgError("the matrix is not positive definite")
    L_inv, info = lapack.dtrtri(L, lower=True, overwrite_c=True)
    if info != 0:
        raise LinAlgError("the Cholesky factor is singular")
    return L_inv


def descend(score, shape, start, rtol=1e-3):
    """Coordinate descent on a grid: step along each axis while the score falls.

    Parameters
    ----------
    score : callable
        ``score(index)`` for a tuple of grid indices; lower is better. Each
        index is scored at most once.
    shape : tuple of int
        Grid size along each axis.
    start : tuple of int
        Where the descent begins.
    rtol : float, default=1e-3
        A step is taken only if it lowers the score by more than this fraction:
        near-ties keep the point nearer the start, and cost no further steps.

    Returns
    -------
    best : tuple of int
        A grid point that no single step along an axis improves.
    scores : dict
        Every index scored, in the order scored, with its score.
    """
    scores = {}

    def at(index):
        if index not in scores:
            scores[index] = score(index)
        return scores[index]

    best, moved = tuple(start), True
    at(best)
    while moved:
        moved = False
        for axis, size in enumerate(shape):
            for step in (-1, 1):
                while 0 <= best[axis] + step < size:
                    candidate = (*best[:axis], best[axis] + step, *best[axis + 1 :])
                    if not at(candidate) < (1.0 - rtol) * at(best):
                        break
                    best, moved = candidate, True
    return best, scores


def distance_scale(X, kernel):
    """Median distance between training samples, the unit of ``sigma="auto"``.

    Parameters
    ----------
    X : ndarray
        Training representations: 2-D, or 3-D rows ``[Z, environment...]`` for
        ``kernel="local_gaussian"``.
    kernel : {"gaussian", "laplacian", "local_gaussian"}
        Euclidean distances for the Gaussian kernels (between atoms of the same
        element for the local one), L1 distances for the Laplacian kernel.

    Returns
    -------
    float
        The median over the pairs of at most ``SCALE_SAMPLES`` evenly spaced
        samples (molecules); 1.0 if every distance is 0.
    """
    subset = X[np.linspace(0, len(X) - 1, min(len(X), SCALE_SAMPLES)).astype(int)]
    if kernel == "local_gaussian":
        Z = subset[:, :, 0]
        distances = np.concatenate(
            [pdist(_ElementAtoms(subset, z).features) for z in np.unique(Z[Z > 0])]
        )
    else:
        distances = pdist(subset, "cityblock" if kernel == "laplacian" else "euclidean")
    positive = distances[distances > 0]
    return float(np.median(positive)) if len(positive) else 1.0
