"""Global SLATM (Huang and von Lilienfeld, arXiv:1707.04146) as a transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from qmllib.representations import generate_slatm, get_slatm_mbtypes
from sklearn.utils._param_validation import Interval

from ..molecules import to_zr
from ._base import COMMON_CONSTRAINTS, VectorRepresentation

#: Atoms per element assumed when listing many-body types: with 3, every one-,
#: two- and three-body combination of the elements is included.
TYPES_PER_ELEMENT = 3


def slatm(nuclear_charges, coordinates, *, mbtypes, rcut, sigmas, dgrids, rpower):
    """One molecule's global SLATM vector through qmllib."""
    return generate_slatm(
        nuclear_charges=nuclear_charges,
        coordinates=coordinates,
        mbtypes=mbtypes,
        rcut=rcut,
        sigmas=list(sigmas),
        dgrids=list(dgrids),
        rpower=rpower,
    )


class SLATM(VectorRepresentation):
    """Spectrum of London and Axilrod-Teller-Muto potentials, global version.

    Computed by qmllib: the element counts, then for every pair and triple of
    elements a smeared spectrum of London (``1 / r^rpower``) two-body and
    Axilrod-Teller-Muto three-body potentials.

    Parameters
    ----------
    rcut : float, default=4.8
        Cut-off radius (Angstrom).
    sigmas : tuple of 2 floats, default=(0.05, 0.05)
        Widths of the Gaussian smearing of the two- and three-body spectra.
    dgrids : tuple of 2 floats, default=(0.03, 0.03)
        Grid spacing of the two-body (Angstrom) and three-body (radian) spectra.
    rpower : int, default=6
        Power of the distance in the two-body potential (6: London).
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
    elements_ : ndarray of int
        Elements accepted by ``transform``.
    mbtypes_ : list of list of int
        The many-body types, learned in ``fit``: every one-, two- and three-body
        combination of ``elements_`` (what qmllib's ``get_slatm_mbtypes`` lists
        for data with at least three atoms of each element, as QM9 training sets
        of a few hundred molecules have). Listing all combinations, instead of
        those of the training set's element counts, keeps the feature space
        complete for test molecules with more atoms of an element.
    max_atoms_ : int
        Atoms of the largest training molecule (molecules of any size are accepted).
    n_features_out_ : int
        Length of the SLATM vector.

    Examples
    --------
    >>> from acn_sklearn import SLATM
    >>> water = [([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])]
    >>> slatm = SLATM().fit(water)
    >>> sorted(slatm.mbtypes_)[:4]
    [[1], [1, 1], [1, 1, 1], [1, 1, 8]]
    """

    _parameter_constraints: ClassVar[dict] = {
        "rcut": [Interval(Real, 0, None, closed="neither")],
        "sigmas": ["array-like"],
        "dgrids": ["array-like"],
        "rpower": [Interval(Integral, 1, None, closed="left")],
        **COMMON_CONSTRAINTS,
    }

    _represent_one = staticmethod(slatm)

    def __init__(
        self,
        rcut=4.8,
        sigmas=(0.05, 0.05),
        dgrids=(0.03, 0.03),
        rpower=6,
        elements=None,
        n_jobs=None,
        memory=None,
    ):
        self.rcut = rcut
        self.sigmas = sigmas
        self.dgrids = dgrids
        self.rpower = rpower
        self.elements = elements
        self.n_jobs = n_jobs
        self.memory = memory

    def _learn(self, X):
        every_type = np.repeat(self.elements_, TYPES_PER_ELEMENT)
        self.mbtypes_ = [[int(z) for z in t] for t in get_slatm_mbtypes([every_type])]
        z, r = to_zr(X[:1])[0]
        self.n_features_out_ = len(slatm(z, r, **self._settings(X[:1])))

    def _settings(self, X):
        return {
            "mbtypes": self.mbtypes_,
            "rcut": self.rcut,
            "sigmas": tuple(self.sigmas),
            "dgrids": tuple(self.dgrids),
            "rpower": self.rpower,
        }
