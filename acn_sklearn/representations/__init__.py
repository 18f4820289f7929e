"""Molecular representations as scikit-learn transformers (qmllib underneath)."""

from ._coulomb import CoulombMatrix
from ._fchl19 import FCHL19
from ._slatm import SLATM

__all__ = ["FCHL19", "SLATM", "CoulombMatrix"]
