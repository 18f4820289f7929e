"""Kernel matrices between representation vectors, computed the fast way.

Conventions are qmllib's, so ``sigma`` means what the papers quote:

- Gaussian: ``k(a, b) = exp(-||a - b||_2^2 / (2 sigma^2))``, built from one BLAS
  matrix product, ``||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b``.
- Laplacian: ``k(a, b) = exp(-||a - b||_1 / sigma)``, qmllib's OpenMP Fortran
  kernel (measured faster than scipy's ``cdist`` and blocked numpy on 2 cores).
"""

from __future__ import annotations

import numpy as np
from qmllib.kernels import laplacian_kernel, laplacian_kernel_symmetric

#: Rows of the first operand per block: bounds the temporaries of a kernel call.
BLOCK_ROWS = 2048


def half_sq_distances_from_products(products, sq_norms_a, sq_norms_b):
    """Turn ``a.b`` products into ``-||a - b||^2 / 2``, in place.

    Parameters
    ----------
    products : ndarray of shape (n_a, n_b)
        ``A @ B.T``; overwritten.
    sq_norms_a : ndarray of shape (n_a,)
    sq_norms_b : ndarray of shape (n_b,)

    Returns
    -------
    ndarray of shape (n_a, n_b)
        ``products``, now holding ``-||a - b||^2 / 2`` (never positive).
    """
    D = products
    D -= 0.5 * sq_norms_a[:, None]
    D -= 0.5 * sq_norms_b[None, :]
    np.minimum(D, 0.0, out=D)  # rounding can make it slightly positive
    return D


def gaussian_from_products(products, sq_norms_a, sq_norms_b, sigma):
    """Turn ``a.b`` products into Gaussian kernel values, in place.

    Parameters
    ----------
    products : ndarray of shape (n_a, n_b)
        ``A @ B.T``; overwritten with the kernel.
    sq_norms_a : ndarray of shape (n_a,)
    sq_norms_b : ndarray of shape (n_b,)
    sigma : float

    Returns
    -------
    ndarray of shape (n_a, n_b)
        ``products``, now holding ``exp(-||a - b||^2 / (2 sigma^2))``.
    """
    K = half_sq_distances_from_products(products, sq_norms_a, sq_norms_b)
    K *= 1.0 / sigma**2
    np.exp(K, out=K)
    return K


def gaussian_kernel(A, B, sigma):
    """Gaussian kernel matrix between the rows of A and B.

    Parameters
    ----------
    A : ndarray of shape (n_a, n_features)
    B : ndarray of shape (n_b, n_features), or None for ``B = A``
        With ``B = None`` the symmetric product runs as a BLAS ``syrk`` and the
        diagonal is exactly 1.
    sigma : float

    Returns
    -------
    K : ndarray of shape (n_a, n_b)
    """
    sq_a = np.einsum("ij,ij->i", A, A)
    if B is None:
        K = gaussian_from_products(A @ A.T, sq_a, sq_a, sigma)
        np.fill_diagonal(K, 1.0)
        return K
    K = np.empty((len(A), len(B)))
    sq_b = np.einsum("ij,ij->i", B, B)
    for start in range(0, len(A), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        K[rows] = gaussian_from_products(A[rows] @ B.T, sq_a[rows], sq_b, sigma)
    return K


def laplacian(A, B, sigma):
    """Laplacian kernel matrix between the rows of A and B (``B = None``: A with itself)."""
    if B is None:
        return laplacian_kernel_symmetric(A, sigma)
    return laplacian_kernel(A, B, sigma)


#: The global kernels by name.
GLOBAL_KERNELS = {"gaussian": gaussian_kernel, "laplacian": laplacian}
#: The power p of each global kernel: ``k(a, b) = exp(-sum |a_i - b_i|^p / (p sigma^p))``.
KERNEL_POWER = {"gaussian": 2, "laplacian": 1}


def padded_kernel(kernel, A, B, sigma):
    """A global kernel between the rows of A and those of B zero-padded to A's width.

    A Coulomb matrix of a molecule larger than the representation's fitted size is
    wider than the training representations; with the columns of the matrix's
    triangle in order (qmllib's layout), a smaller molecule's matrix at the larger
    size is its own followed by zeros, so this is the kernel of both at the larger
    size. The kernel of the shared columns times ``k(extra, 0)``, one factor per
    row of A: no padded copy of B.

    Parameters
    ----------
    kernel : {"gaussian", "laplacian"}
    A : ndarray of shape (n_a, n_features_a)
    B : ndarray of shape (n_b, n_features_b), n_features_b <= n_features_a
    sigma : float

    Returns
    -------
    K : ndarray of shape (n_a, n_b)
    """
    function = GLOBAL_KERNELS[kernel]
    width = B.shape[1]
    if A.shape[1] == width:
        return function(A, B, sigma)
    K = function(np.ascontiguousarray(A[:, :width]), B, sigma)
    p = KERNEL_POWER[kernel]
    extra = np.sum(np.abs(A[:, width:]) ** p, axis=1)
    K *= np.exp(-extra / (p * sigma**p))[:, None]
    return K
