"""Datasets: QM9 offline from the ``qm9pack`` wheel (cached after the first load), and the
user's own molecules from .xyz files."""

from ._qm9 import (
    QM9_MAX_ATOMS,
    QM9_PROPERTIES,
    TARGET_KINDS,
    TARGET_NAMES,
    TARGET_UNITS,
    get_data_home,
    load_qm9,
)
from ._xyz import load_xyz, read_xyz

__all__ = [
    "QM9_MAX_ATOMS",
    "QM9_PROPERTIES",
    "TARGET_KINDS",
    "TARGET_NAMES",
    "TARGET_UNITS",
    "get_data_home",
    "load_qm9",
    "load_xyz",
    "read_xyz",
]
