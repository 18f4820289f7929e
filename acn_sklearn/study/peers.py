"""Published test MAEs of other models trained on (nearly) all of QM9, to mark beside ours.

Each paper trained on about 110,000 QM9 molecules and reported the mean absolute
error of U0, the internal energy at 0 K, on its own held-out molecules (not our
test set: the numbers place our curves, they are not a like-for-like comparison).
Errors reported in meV are converted with 1 eV = 23.0605 kcal/mol. The MAE of an
energy and of its atomization energy are the same (they differ by the atoms'
reference energies, a function of the composition).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PEERS", "Peer", "peers_for"]

#: kcal/mol per eV.
KCAL_PER_EV = 23.0605

#: Targets whose errors the peers' U0 errors place: U0 itself, and U (298 K), whose
#: published errors are close to U0's, marked as U0 in every table and figure.
ENERGY_TARGETS = ("U0", "U0_atomization", "U", "U_atomization")


@dataclass(frozen=True)
class Peer:
    """One published model's full-QM9 result.

    Attributes
    ----------
    name : str
        The model's name.
    mae : float
        Test MAE of U0 in kcal/mol.
    n_train : int
        Training molecules.
    reported : str
        The number as printed, in the paper's unit.
    source : str
        Authors, venue and the table it is in.
    """

    name: str
    mae: float
    n_train: int
    reported: str
    source: str


def _mev(value: float) -> float:
    return round(value / 1000 * KCAL_PER_EV, 3)


#: The published models, oldest first.
PEERS: tuple[Peer, ...] = (
    Peer(
        "SchNet",
        0.31,
        110_000,
        "0.31 kcal/mol",
        "Schütt et al., NeurIPS 2017 (arXiv:1706.08566), Table 1, N = 110k",
    ),
    Peer(
        "Cormorant",
        _mev(22),
        100_000,
        "22 meV",
        "Anderson, Hy and Kondor, NeurIPS 2019 (arXiv:1906.04015), QM9 table",
    ),
    Peer(
        "DimeNet++",
        _mev(6.32),
        110_000,
        "6.32 meV",
        "Gasteiger et al., ML4Molecules 2020 (arXiv:2011.14115), Table 1",
    ),
    Peer(
        "PaiNN",
        _mev(5.85),
        110_000,
        "5.85 meV",
        "Schütt, Unke and Gastegger, ICML 2021 (arXiv:2102.03150), Table 2",
    ),
    Peer(
        "Allegro",
        _mev(4.7),
        110_000,
        "4.7 meV",
        "Musaelian et al., Nat. Commun. 14, 579 (2023) (arXiv:2204.05249), QM9 table",
    ),
)


def peers_for(target: str, unit: str) -> tuple[Peer, ...]:
    """The published results that place a learning curve of ``target`` in ``unit``.

    Parameters
    ----------
    target : str
        The learned property (a QM9 target name).
    unit : str
        Its unit; the peers are in kcal/mol.

    Returns
    -------
    tuple of Peer
        :data:`PEERS` for the QM9 energies (U0, U and their atomization
        energies) in kcal/mol; empty otherwise.
    """
    return PEERS if target in ENERGY_TARGETS and unit == "kcal/mol" else ()
