"""The Coulomb matrix (Rupp et al., PRL 108, 058301, 2012) as a transformer."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

from qmllib.representations import (
    generate_coulomb_matrix,
    generate_coulomb_matrix_eigenvalue,
)
from sklearn.utils._param_validation import Interval, StrOptions

from ..molecules import n_atoms
from ._base import COMMON_CONSTRAINTS, VectorRepresentation


def coulomb_matrix(nuclear_charges, coordinates, *, size, sorting):
    """One molecule's Coulomb matrix through qmllib (upper triangle, or eigenvalues)."""
    if sorting == "eigenvalue":
        return generate_coulomb_matrix_eigenvalue(
            nuclear_charges=nuclear_charges, coordinates=coordinates, size=size
        )
    return generate_coulomb_matrix(
        nuclear_charges=nuclear_charges, coordinates=coordinates, size=size, sorting=sorting
    )


class CoulombMatrix(VectorRepresentation):
    """Coulomb matrix representation: ``M_ii = Z_i^2.4 / 2``, ``M_ij = Z_i Z_j / |R_i - R_j|``.

    Computed by qmllib. Each molecule becomes the upper triangle (diagonal
    included) of its ``size x size`` zero-padded matrix, or its sorted eigenvalues.

    Parameters
    ----------
    size : int, default=None
        The matrix size of training molecules. None: the largest training
        molecule's atoms, learned in ``fit``. A larger molecule is still
        represented, see Notes.
    sorting : {"row-norm", "unsorted", "eigenvalue"}, default="row-norm"
        ``"row-norm"`` orders atoms by decreasing row norm of M (permutation
        invariant, the paper's choice); ``"unsorted"`` keeps the input order;
        ``"eigenvalue"`` returns the ``size`` eigenvalues of M, sorted.
    elements : array-like of int, default=None
        Elements the model accepts besides those of the training molecules
        (e.g. all of QM9's when a small training set may miss fluorine). A
        molecule with another element is refused in ``transform``.
    n_jobs : int, default=None
        joblib workers generating representations (None: one).
    memory : None, str or joblib.Memory, default=None
        Per-molecule cache of the representations; useful for learning curves
        and searches that refit on overlapping subsets.

    Attributes
    ----------
    size_ : int
        The matrix size used.
    elements_ : ndarray of int
        Elements accepted by ``transform``.
    max_atoms_ : int
        Atoms of the largest training molecule.
    n_features_out_ : int
        ``size_ (size_ + 1) / 2``, or ``size_`` for ``sorting="eigenvalue"``.

    Notes
    -----
    A molecule with more atoms than ``size_`` is represented at its own size
    ``n``: ``transform`` returns ``n (n + 1) / 2`` columns for the whole batch.
    qmllib writes the triangle column by column, so a smaller molecule's matrix at
    size ``n`` is its matrix at ``size_`` followed by zeros (the entries of the
    atoms it lacks, as in any padded Coulomb matrix). The kernel models compare
    the wider rows with their training representations zero-padded to that width
    (:func:`~acn_sklearn.kernel_ridge._kernels.padded_kernel`), which is exactly
    the kernel of the Coulomb matrices of size ``n`` of both: well defined, and
    the same as for a training molecule smaller than another. The model predicts
    it with a :class:`~acn_sklearn.domain.DomainWarning` (more heavy atoms than
    any training molecule). With ``sorting="eigenvalue"`` the zeros of a padded
    spectrum sit between its positive and negative eigenvalues, so a larger
    molecule is refused there.

    Examples
    --------
    >>> from acn_sklearn import CoulombMatrix
    >>> water = [([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])]
    >>> CoulombMatrix().fit_transform(water).shape
    (1, 6)
    """

    _parameter_constraints: ClassVar[dict] = {
        "size": [Interval(Integral, 1, None, closed="left"), None],
        "sorting": [StrOptions({"row-norm", "unsorted", "eigenvalue"})],
        **COMMON_CONSTRAINTS,
    }

    _represent_one = staticmethod(coulomb_matrix)

    def __init__(self, size=None, sorting="row-norm", elements=None, n_jobs=None, memory=None):
        self.size = size
        self.sorting = sorting
        self.elements = elements
        self.n_jobs = n_jobs
        self.memory = memory

    def _learn(self, X):
        self.size_ = self.max_atoms_ if self.size is None else self.size
        self._check_size(X, self.size_)
        n = self.size_
        self.n_features_out_ = n if self.sorting == "eigenvalue" else n * (n + 1) // 2

    def _check_input_size(self, X):
        if self.sorting == "eigenvalue":
            self._check_size(X, self.size_)

    def _settings(self, X):
        # A larger molecule: the whole batch at its size (see Notes).
        return {"size": max(self.size_, int(n_atoms(X).max())), "sorting": self.sorting}
