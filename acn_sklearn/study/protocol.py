"""The evaluation protocol every learning curve, tuning run and benchmark shares.

One held-out test set of ``n_test`` molecules, drawn once with ``test_seed``, is
never used for fitting, early stopping or choosing hyperparameters. The other
molecules form the training pool; the training set of size N for repeat r is the
first N molecules of a permutation of the pool seeded by r, so a larger N contains
every smaller one of the same repeat, and every repeat draws other molecules.
"""

from __future__ import annotations

import numpy as np

__all__ = ["held_out_split"]


def held_out_split(
    n_molecules: int, n_train: int, *, n_test: int, test_seed: int, repeat: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of one cell of the protocol.

    Parameters
    ----------
    n_molecules : int
        Size of the dataset.
    n_train : int
        Training-set size N.
    n_test : int
        Size of the fixed test set.
    test_seed : int
        Seed of the test set; the same seed gives the same test set.
    repeat : int
        Seed of the training subset drawn from the pool.

    Returns
    -------
    train, test : ndarray of int

    Raises
    ------
    ValueError
        If N is larger than the training pool.
    """
    order = np.random.default_rng(test_seed).permutation(n_molecules)
    test, pool = order[:n_test], order[n_test:]
    if not 1 <= n_train <= len(pool):
        raise ValueError(
            f"training size {n_train} is not in [1, {len(pool)}]: the pool holds "
            f"{n_molecules} molecules minus the {n_test} of the test set"
        )
    train = np.random.default_rng(1000 + repeat).permutation(pool)[:n_train]
    return train, test
