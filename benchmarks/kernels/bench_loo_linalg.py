"""Which factorisation gives leave-one-out errors fastest at N = 10,000.

Leave-one-out residuals of kernel ridge regression need ``c = G^-1 y`` and the
diagonal of ``G^-1`` (``G = K + alpha I``). Timed on one symmetric positive
definite N x N matrix: Cholesky (``potrf``) followed by the inverse diagonal from
the inverse factor (``trtri``, then column sums of squares), from LAPACK's
``potri`` (the full inverse), or from ``trsm`` on the identity; and the
eigendecomposition (``syevd``), which would serve every alpha at once. Prints one
JSON line per method; ``--skip-eigh`` leaves out the slowest.

Run: ``python -m benchmarks.kernels.bench_loo_linalg --n 10000``
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from scipy.linalg import blas, eigh, lapack


def timed(name, function, *args):
    start = time.perf_counter()
    out = function(*args)
    print(
        json.dumps({"step": name, "s": time.perf_counter() - start, "load": os.getloadavg()}),
        flush=True,
    )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--skip-eigh", action="store_true")
    args = parser.parse_args()
    features = np.random.default_rng(0).standard_normal((args.n, 200))
    G = np.exp(features @ features.T / 200 - 1)  # a positive definite kernel
    G.flat[:: args.n + 1] += 1e-6
    L = timed("potrf", lambda M: lapack.dpotrf(M, lower=True, clean=True)[0], G)
    L_inv = timed("trtri", lambda M: lapack.dtrtri(M, lower=True)[0], L)
    reference = timed("column sums", lambda M: np.einsum("ij,ij->j", M, M), L_inv)
    L_inv = None  # free it before the next inverse
    inverse = timed("potri", lambda M: lapack.dpotri(M, lower=True)[0], L)
    assert np.allclose(np.diag(inverse), reference, rtol=1e-8)
    inverse = None
    identity = np.eye(args.n, order="F")
    timed("trsm", lambda M, B: blas.dtrsm(1.0, M, B, lower=True), np.asfortranarray(L), identity)
    identity = None
    if not args.skip_eigh:
        timed("syevd", lambda M: eigh(M, check_finite=False, driver="evd"), G)


if __name__ == "__main__":
    main()
