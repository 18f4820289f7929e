"""Shared fixtures: a small real QM9 subset that needs no qm9pack."""

import os
from pathlib import Path

import numpy as np
import pytest

from acn_sklearn.datasets import read_xyz
from acn_sklearn.molecules import to_array

DATA = Path(__file__).parent / "data"


def pytest_configure(config):
    """With one test process per core (pytest-xdist's ``-n``), each computes on one thread.

    Set before the processes start, which read it when torch and BLAS load: two
    processes of two threads each on two cores took more CPU time and longer.
    """
    if getattr(config.option, "numprocesses", None):
        os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def qm9_subset_atoms():
    """400 QM9 molecules as ase.Atoms, their QM9 targets in ``atoms.info``."""
    return read_xyz(DATA / "qm9_subset.extxyz")


@pytest.fixture(scope="session")
def qm9_subset(qm9_subset_atoms):
    """``(X, y)``: canonical array (400, 29, 4) and U_atomization in kcal/mol."""
    X = to_array(qm9_subset_atoms, max_atoms=29)
    y = np.array([atoms.info["U_atomization"] for atoms in qm9_subset_atoms])
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


@pytest.fixture(scope="session")
def qm9_data_home(tmp_path_factory):
    """A QM9 cache folder of the test session's own: the first load parses the CSVs."""
    return tmp_path_factory.mktemp("acn_sklearn_data")


@pytest.fixture
def validations(monkeypatch):
    """Sizes of the molecule arrays check_molecules really validates, in call order."""
    from acn_sklearn import molecules

    calls = []
    check_distances = molecules._check_distances

    def counting(X, *args, **kwargs):
        calls.append(len(X))
        return check_distances(X, *args, **kwargs)

    monkeypatch.setattr(molecules, "_check_distances", counting)
    return calls
