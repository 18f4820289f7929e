"""FCHL19 (Christensen et al., J. Chem. Phys. 152, 044107, 2020) as a transformer."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from qmllib.representations import generate_fchl19
from sklearn.utils._param_validation import Interval

from ..molecules import n_atoms
from ._base import COMMON_CONSTRAINTS, MoleculeTransformer


def fchl19(nuclear_charges, coordinates, *, max_atoms, **settings):
    """One molecule's FCHL19 atomic environments, rows ``[Z, environment...]``."""
    environments = generate_fchl19(
        nuclear_charges=nuclear_charges, coordinates=coordinates, pad=max_atoms, **settings
    )
    out = np.zeros((max_atoms, 1 + environments.shape[1]))
    out[: len(nuclear_charges), 0] = nuclear_charges
    out[:, 1:] = environments
    return out


class FCHL19(MoleculeTransformer, auto_wrap_output_keys=None):
    """FCHL19 atom-centred symmetry functions: one vector per atom.

    Computed by qmllib. The output is 3-D, shape (n_molecules, n_rows,
    1 + n_features): each atom's row is its nuclear charge followed by its
    environment vector; padding rows are zero. ``n_rows`` is ``max_atoms_``, or
    the largest molecule transformed if that is larger: the local kernel compares
    atoms, so molecules of any size are accepted. This is the input of
    ``KernelRidgeRegressor(kernel="local_gaussian")``. Being 3-D it has no
    ``get_feature_names_out`` and no ``set_output``.

    Parameters
    ----------
    nRs2 : int, default=24
        Radial basis functions of the two-body terms.
    nRs3 : int, default=20
        Radial basis functions of the three-body terms.
    eta2 : float, default=0.32
        Precision of the two-body radial Gaussians.
    eta3 : float, default=2.7
        Precision of the three-body radial Gaussians.
    zeta : float, default=pi
        Precision of the three-body angular basis.
    rcut : float, default=8.0
        Cut-off radius of the two-body terms (Angstrom).
    acut : float, default=8.0
        Cut-off radius of the three-body terms (Angstrom).
    two_body_decay : float, default=1.8
    three_body_decay : float, default=0.57
    three_body_weight : float, default=13.4
        Scaling of the two-body terms with distance and of the three-body terms,
        qmllib's defaults, tuned by the FCHL19 authors on QM9.
    elements : array-like of int, default=None
        Elements the model accepts besides those of the training molecules; they
        also span the element channels of the vectors.
    n_jobs : int, default=None
        joblib workers generating representations (None: one).
    memory : None, str or joblib.Memory, default=None
        Per-molecule cache of the representations.

    Attributes
    ----------
    elements_ : ndarray of int
        Elements accepted by ``transform``.
    max_atoms_ : int
        Atoms of the largest training molecule: the least rows per molecule of
        the output.
    n_features_out_ : int
        Columns per atom, the nuclear charge included.

    Examples
    --------
    >>> from acn_sklearn import FCHL19
    >>> water = [([8, 1, 1], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])]
    >>> FCHL19().fit_transform(water).shape
    (1, 3, 169)
    """

    _parameter_constraints: ClassVar[dict] = {
        "nRs2": [Interval(Integral, 1, None, closed="left")],
        "nRs3": [Interval(Integral, 1, None, closed="left")],
        "eta2": [Interval(Real, 0, None, closed="neither")],
        "eta3": [Interval(Real, 0, None, closed="neither")],
        "zeta": [Interval(Real, 0, None, closed="neither")],
        "rcut": [Interval(Real, 0, None, closed="neither")],
        "acut": [Interval(Real, 0, None, closed="neither")],
        "two_body_decay": [Real],
        "three_body_decay": [Real],
        "three_body_weight": [Real],
        **COMMON_CONSTRAINTS,
    }

    _represent_one = staticmethod(fchl19)

    def __init__(
        self,
        nRs2=24,
        nRs3=20,
        eta2=0.32,
        eta3=2.7,
        zeta=np.pi,
        rcut=8.0,
        acut=8.0,
        two_body_decay=1.8,
        three_body_decay=0.57,
        three_body_weight=13.4,
        elements=None,
        n_jobs=None,
        memory=None,
    ):
        self.nRs2 = nRs2
        self.nRs3 = nRs3
        self.eta2 = eta2
        self.eta3 = eta3
        self.zeta = zeta
        self.rcut = rcut
        self.acut = acut
        self.two_body_decay = two_body_decay
        self.three_body_decay = three_body_decay
        self.three_body_weight = three_body_weight
        self.elements = elements
        self.n_jobs = n_jobs
        self.memory = memory

    def _learn(self, X):
        n = len(self.elements_)
        self.n_features_out_ = 1 + n * self.nRs2 + n * (n + 1) * self.nRs3

    def _settings(self, X):
        names = (
            "nRs2",
            "nRs3",
            "eta2",
            "eta3",
            "zeta",
            "rcut",
            "acut",
            "two_body_decay",
            "three_body_decay",
            "three_body_weight",
        )
        rows = max(self.max_atoms_, int(n_atoms(X).max()))
        return {
            "elements": self.elements_.tolist(),
            "max_atoms": rows,
            **{name: getattr(self, name) for name in names},
        }
