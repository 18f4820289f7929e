"""The applicability domain of a fitted model: which molecules lie outside its training data.

A model extrapolates, often wildly, on molecules unlike any it was fitted on
(a 41-atom alkane, for models fitted on QM9's molecules of at most 29 atoms, gets
predictions that differ between models by far more than their in-domain
errors). :class:`TrainingDomain`
records, at fit time, the largest training molecule, the elements, the bonded
element pairs and how near each atom's nearest neighbour was (which also tells
coordinates in bohr from coordinates in Angstrom), and after the fit the level
of the model's own uncertainty on molecules it did not train on
(:meth:`TrainingDomain.with_std_limit`); :meth:`TrainingDomain.warn` issues one
:class:`DomainWarning` per reason, naming the molecules, and predictions are
still returned.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
from ase.data import chemical_symbols

from .molecules import elements_in

__all__ = [
    "BOND_LENGTH",
    "NEIGHBOUR_CLOSE_FACTOR",
    "NEIGHBOUR_FAR_FACTOR",
    "STD_LIMIT_FACTOR",
    "DomainWarning",
    "TrainingDomain",
]

#: Two atoms closer than this (Angstrom) count as a bonded element pair. Covalent
#: bonds between H, C, N, O and F are 0.96-1.6 A; geminal hydrogens (1.75-1.8 A)
#: and other second neighbours stay out.
BOND_LENGTH = 1.7

#: An atom nearer its nearest neighbour than this times the shortest distance of
#: that element pair between nearest neighbours in training is "too close": a
#: bond squeezed by a quarter is far outside any equilibrium geometry.
NEIGHBOUR_CLOSE_FACTOR = 0.75

#: A molecule whose every atom is farther from its nearest neighbour than this
#: times the longest distance of that element pair between nearest neighbours in
#: training is "spread out": coordinates in bohr are 1.89 times those in
#: Angstrom, while stretched bonds of real molecules stay well within 1.4 times.
NEIGHBOUR_FAR_FACTOR = 1.4

#: A predicted standard deviation above this many times the 99th percentile of
#: the calibration molecules' (leave-one-out or validation) standard deviations
#: is "far above the validation level". A factor of 2 doubles the error bar of
#: the least certain held-out molecule in a hundred; the benchmark
#: (docs/benchmarks/uncertainty.md) counts how many in-domain test molecules it
#: flags and whether it flags alkanes larger than QM9's.
STD_LIMIT_FACTOR = 2.0


class DomainWarning(UserWarning):
    """A prediction for molecules outside the model's training domain.

    Parameters
    ----------
    model : str
        The model's name.
    reason : str
        Why the molecules are outside, in words.
    molecules : sequence of int
        Their indices in the X that was predicted.

    Attributes
    ----------
    model, reason : str
    molecules : list of int
    """

    def __init__(self, model: str, reason: str, molecules):
        self.model, self.reason = model, reason
        self.molecules = [int(i) for i in molecules]
        super().__init__(self._message(list(map(str, self.molecules))))

    def __reduce__(self):
        return type(self), (self.model, self.reason, self.molecules)

    def describe(self, names) -> str:
        """The warning's message, naming each molecule ``i`` by ``names[i]``.

        Parameters
        ----------
        names : sequence
            Indexed by the molecules' indices: the indices themselves, or names
            such as the ``file:frame (name)`` of the command line.

        Returns
        -------
        str
        """
        return self._message([str(names[i]) for i in self.molecules])

    def _message(self, listed: list[str]) -> str:
        return (
            f"{len(listed)} molecule(s) outside the training domain of this {self.model}: "
            f"{self.reason}: molecule(s) {_listing(listed)}; their predictions are "
            "extrapolations"
        )


def _bonded_pairs(X: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Every bonded atom pair of every molecule: its molecule and ``(Z_a, Z_b)``, ``Z_a <= Z_b``.

    Returns
    -------
    molecule : ndarray of int of shape (n_pairs,)
    pair : ndarray of int of shape (n_pairs, 2)
    """
    molecules, pairs = [], []
    for start in range(0, len(X), chunk):
        Z, R = X[start : start + chunk, :, 0].astype(int), X[start : start + chunk, :, 1:]
        diff = R[:, :, None] - R[:, None, :]
        real = Z > 0
        close = np.einsum("mabx,mabx->mab", diff, diff) < BOND_LENGTH**2
        bonded = close & real[:, :, None] & real[:, None, :]
        m, a, b = np.nonzero(np.triu(bonded, k=1))
        molecules.append(start + m)
        pairs.append(np.sort(np.stack([Z[m, a], Z[m, b]], axis=1), axis=1))
    return np.concatenate(molecules), np.concatenate(pairs)


def _nearest_neighbours(
    X: np.ndarray, chunk: int = 4096
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every atom's nearest neighbour in its molecule (atoms of one-atom molecules have none).

    Returns
    -------
    molecule : ndarray of int of shape (n_atoms,)
    pair : ndarray of int of shape (n_atoms, 2)
        The elements of the atom and its nearest neighbour, ``Z_a <= Z_b``.
    distance : ndarray of shape (n_atoms,)
        Their distance (Angstrom).
    """
    molecules, pairs, distances = [], [], []
    for start in range(0, len(X), chunk):
        Z, R = X[start : start + chunk, :, 0].astype(int), X[start : start + chunk, :, 1:]
        diff = R[:, :, None] - R[:, None, :]
        real = Z > 0
        d2 = np.einsum("mabx,mabx->mab", diff, diff)
        d2[~(real[:, :, None] & real[:, None, :])] = np.inf
        d2[:, np.arange(Z.shape[1]), np.arange(Z.shape[1])] = np.inf
        nearest = d2.argmin(axis=2)
        m, a = np.nonzero(np.isfinite(d2.min(axis=2)))
        b = nearest[m, a]
        molecules.append(start + m)
        pairs.append(np.sort(np.stack([Z[m, a], Z[m, b]], axis=1), axis=1))
        distances.append(np.sqrt(d2[m, a, b]))
    return np.concatenate(molecules), np.concatenate(pairs), np.concatenate(distances)


def _heavy_atoms(X: np.ndarray) -> np.ndarray:
    """Non-hydrogen atoms per molecule."""
    return (X[:, :, 0] > 1).sum(axis=1)


def _codes(pairs: np.ndarray) -> np.ndarray:
    """One integer per element pair (rows ``(Z_a, Z_b)``), for set operations in numpy."""
    return pairs[:, 0] * 1024 + pairs[:, 1]


def _describe(pair: tuple[int, int]) -> str:
    return "-".join(chemical_symbols[z] for z in pair)


def _listing(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass(frozen=True)
class TrainingDomain:
    """What a model's training molecules covered.

    Attributes
    ----------
    max_heavy_atoms : int
        Heavy (non-hydrogen) atoms of the largest training molecule. Size is
        counted in heavy atoms, as chemical space is (QM9: GDB molecules of up
        to 9): the hydrogens follow from them, and a small sample of QM9 reaches
        9 heavy atoms long before it holds a 29-atom molecule.
    elements : frozenset of int
        Elements of the training molecules.
    bonded_pairs : frozenset of (int, int)
        Element pairs closer than :data:`BOND_LENGTH` in some training molecule.
    std_limit : tuple of float or None, default=None
        Per target, the predicted standard deviation above which a molecule's
        uncertainty is far above the validation level (see
        :meth:`with_std_limit`); None: not checked.
    neighbour_distances : tuple of (int, int, float, float) or None, default=None
        Per element pair ``(Z_a, Z_b, shortest, longest)``: the range of
        distances (Angstrom) between an atom and its nearest neighbour of that
        pair in the training molecules. A molecule with an atom nearer than
        :data:`NEIGHBOUR_CLOSE_FACTOR` x the shortest, or whose every atom is
        farther than :data:`NEIGHBOUR_FAR_FACTOR` x the longest (coordinates in
        bohr), is outside; None (also what a model file without the ranges
        loads with): not checked.
    """

    max_heavy_atoms: int
    elements: frozenset
    bonded_pairs: frozenset
    std_limit: tuple | None = None
    neighbour_distances: tuple | None = None

    @classmethod
    def of(cls, X: np.ndarray) -> TrainingDomain:
        """The domain of validated canonical training molecules ``X``."""
        _, pair, distance = _nearest_neighbours(X)
        codes, of_pair = np.unique(_codes(pair), return_inverse=True)
        shortest, longest = np.full(len(codes), np.inf), np.zeros(len(codes))
        np.minimum.at(shortest, of_pair, distance)
        np.maximum.at(longest, of_pair, distance)
        return cls(
            max_heavy_atoms=int(_heavy_atoms(X).max()),
            elements=frozenset(elements_in(X).tolist()),
            bonded_pairs=frozenset(map(tuple, np.unique(_bonded_pairs(X)[1], axis=0).tolist())),
            neighbour_distances=tuple(
                (int(c // 1024), int(c % 1024), float(lo), float(hi))
                for c, lo, hi in zip(codes, shortest, longest, strict=True)
            ),
        )

    def with_std_limit(self, calibration_std) -> TrainingDomain:
        """This domain with :data:`STD_LIMIT_FACTOR` x the 99th percentile of ``calibration_std``.

        Parameters
        ----------
        calibration_std : array-like of shape (n_molecules,) or (n_molecules, n_targets)
            Calibrated standard deviations of molecules the model did not train
            on: leave-one-out for kernel models, the validation split for
            networks.

        Returns
        -------
        TrainingDomain
        """
        std = np.asarray(calibration_std, dtype=np.float64)
        limit = STD_LIMIT_FACTOR * np.percentile(std.reshape(len(std), -1), 99, axis=0)
        return replace(self, std_limit=tuple(limit.tolist()))

    def outside(self, X: np.ndarray, std=None) -> dict[str, list[int]]:
        """Molecules outside the domain, by reason.

        Parameters
        ----------
        X : ndarray of shape (n_molecules, max_atoms, 4)
            Validated canonical molecules.
        std : ndarray of shape (n_molecules,) or (n_molecules, n_targets), default=None
            Their predicted standard deviations, compared with ``std_limit``
            (when both are set).

        Returns
        -------
        dict
            Reason -> indices of the molecules (only reasons with any).
        """
        reasons: dict[str, list[int]] = {}
        too_large = np.flatnonzero(_heavy_atoms(X) > self.max_heavy_atoms).tolist()
        if too_large:
            reasons[f"more heavy atoms than any training molecule ({self.max_heavy_atoms})"] = (
                too_large
            )
        Z = X[:, :, 0]
        unseen = (Z > 0) & ~np.isin(Z, sorted(self.elements))
        new_elements = sorted({int(z) for z in Z[unseen]})
        if new_elements:
            names = ", ".join(chemical_symbols[z] for z in new_elements)
            reasons[f"an element never seen in training ({names})"] = np.flatnonzero(
                unseen.any(axis=1)
            ).tolist()
        molecule, pair = _bonded_pairs(X)
        known = np.array(sorted(self.bonded_pairs), dtype=int).reshape(-1, 2)
        unknown = ~np.isin(_codes(pair), _codes(known))
        if unknown.any():
            new_pairs = sorted(set(map(tuple, pair[unknown].tolist())))
            names = ", ".join(_describe(p) for p in new_pairs)
            reasons[f"a bonded element pair never seen in training ({names})"] = np.unique(
                molecule[unknown]
            ).tolist()
        if self.neighbour_distances is not None:
            reasons.update(self._distance_reasons(X))
        if std is not None and self.std_limit is not None:
            std = np.asarray(std).reshape(len(X), -1)
            uncertain = np.flatnonzero((std > np.asarray(self.std_limit)).any(axis=1)).tolist()
            if uncertain:
                limits = ", ".join(f"{value:.3g}" for value in self.std_limit)
                reasons[
                    f"uncertainty far above the validation level (std above {limits}, "
                    f"{STD_LIMIT_FACTOR:g} x the 99th percentile of held-out molecules)"
                ] = uncertain
        return reasons

    def _distance_reasons(self, X: np.ndarray) -> dict[str, list[int]]:
        """Molecules with atoms far nearer, or all far farther, than in training."""
        reasons: dict[str, list[int]] = {}
        table = np.array(self.neighbour_distances).reshape(-1, 4)
        codes = _codes(table[:, :2].astype(int))
        molecule, pair, distance = _nearest_neighbours(X)
        at = np.searchsorted(codes, _codes(pair)).clip(max=len(codes) - 1)
        known = codes[at] == _codes(pair)  # a pair never nearest in training: not judged
        shortest, longest = table[at, 2], table[at, 3]
        close = known & (distance < NEIGHBOUR_CLOSE_FACTOR * shortest)
        if close.any():
            names = ", ".join(_describe(p) for p in sorted(set(map(tuple, pair[close].tolist()))))
            reasons[
                f"atoms nearer than {NEIGHBOUR_CLOSE_FACTOR:g} x the shortest distance of their "
                f"element pair in training ({names})"
            ] = np.unique(molecule[close]).tolist()
        judged = np.bincount(molecule[known], minlength=len(X))
        far = np.bincount(
            molecule[known & (distance > NEIGHBOUR_FAR_FACTOR * longest)], minlength=len(X)
        )
        spread = np.flatnonzero((judged > 0) & (far == judged)).tolist()
        if spread:
            reasons[
                f"every atom farther from its nearest neighbour than {NEIGHBOUR_FAR_FACTOR:g} x "
                "in training (positions in bohr? they must be in Angstrom)"
            ] = spread
        return reasons

    def warn(self, X: np.ndarray, model: str, std=None) -> None:
        """Issue one :class:`DomainWarning` per reason a molecule of ``X`` is outside.

        Parameters
        ----------
        X : ndarray of shape (n_molecules, max_atoms, 4)
            Validated canonical molecules about to be predicted.
        model : str
            The model's name, for the message.
        std : ndarray, default=None
            Their predicted standard deviations, if the model computed them.
        """
        for reason, molecules in self.outside(X, std).items():
            warnings.warn(DomainWarning(model, reason, molecules), stacklevel=3)
