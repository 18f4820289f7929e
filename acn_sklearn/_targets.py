"""The molecular targets the package knows: QM9's properties, their units and kinds.

Plain data that the datasets (which load the targets) and the models (whose
property heads follow a target's kind) both read.
"""

#: QM9 properties: name -> (CSV column, unit, description). Raw properties keep
#: QM9's own units; atomization energies are added in kcal/mol.
QM9_PROPERTIES = {
    "A": ("RotA_GHz", "GHz", "rotational constant A"),
    "B": ("RotB_GHz", "GHz", "rotational constant B"),
    "C": ("RotC_GHz", "GHz", "rotational constant C"),
    "mu": ("Dipole_debye", "D", "dipole moment"),
    "alpha": ("Polarizability_bohr3", "bohr^3", "isotropic polarizability"),
    "homo": ("HOMO_au", "hartree", "energy of the HOMO"),
    "lumo": ("LUMO_au", "hartree", "energy of the LUMO"),
    "gap": ("HOMO_LUMO_gap_au", "hartree", "HOMO-LUMO gap"),
    "r2": ("R2_bohr2", "bohr^2", "electronic spatial extent"),
    "zpve": ("ZPVE_au", "hartree", "zero-point vibrational energy"),
    "U0": ("InternalEnergy_0K_au", "hartree", "internal energy at 0 K"),
    "U": ("InternalEnergy_298K_au", "hartree", "internal energy at 298.15 K"),
    "H": ("Enthalphy_298K_au", "hartree", "enthalpy at 298.15 K"),
    "G": ("GibbsFreeEnergy_298K_au", "hartree", "free energy at 298.15 K"),
    "Cv": ("Heatcapacity_Cv_cal_mol_K", "cal/(mol K)", "heat capacity at 298.15 K"),
}

#: Free-atom energies (hartree) of QM9's atomref table, B3LYP/6-31G(2df,p).
ATOM_REFERENCE_ENERGIES = {
    "U0": {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730},
    "U": {1: -0.498857, 6: -37.845355, 7: -54.582445, 8: -75.063162, 9: -99.717314},
    "H": {1: -0.497912, 6: -37.844411, 7: -54.581501, 8: -75.062219, 9: -99.716370},
    "G": {1: -0.510927, 6: -37.861317, 7: -54.598897, 8: -75.079532, 9: -99.733544},
}

#: Every target load_qm9 offers, and its unit.
TARGET_NAMES = list(QM9_PROPERTIES) + [f"{e}_atomization" for e in ATOM_REFERENCE_ENERGIES]
TARGET_UNITS = {name: unit for name, (_, unit, _) in QM9_PROPERTIES.items()} | {
    f"{e}_atomization": "kcal/mol" for e in ATOM_REFERENCE_ENERGIES
}

#: Per-atom targets: name -> unit. ``load_qm9`` returns one alone as y of shape
#: (n_molecules, 29), aligned with the atoms of X (0 at padding).
ATOMIC_TARGETS = {"mulliken_charges": "e"}
TARGET_UNITS |= ATOMIC_TARGETS


#: How each QM9 target depends on the molecule, for models that build this into their
#: output (e.g. ``ACNRegressor(head="auto")``):
#:
#: - ``"extensive"``: grows with the molecule, a sum of atom contributions (energies,
#:   ``alpha``, ``zpve``, ``Cv``);
#: - ``"intensive"``: a property of the molecule as a whole that does not add up over
#:   atoms (``homo``, ``lumo``, ``gap``);
#: - ``"dipole"``: the norm of a dipole vector, ``mu``;
#: - ``"spatial_extent"``: the electronic spatial extent ``<R^2>``, ``r2``;
#: - ``"rotational"``: the rotational constants ``A, B, C``, exact functions of the
#:   geometry and the atomic masses;
#: - ``"atomic_charges"``: one partial charge per atom (``mulliken_charges``, shape
#:   (n_molecules, max_atoms)), summing to the molecule's total charge (0 in QM9).
TARGET_KINDS = {
    "A": "rotational",
    "B": "rotational",
    "C": "rotational",
    "mu": "dipole",
    "alpha": "extensive",
    "homo": "intensive",
    "lumo": "intensive",
    "gap": "intensive",
    "r2": "spatial_extent",
    "zpve": "extensive",
    "U0": "extensive",
    "U": "extensive",
    "H": "extensive",
    "G": "extensive",
    "Cv": "extensive",
    **{f"{e}_atomization": "extensive" for e in ATOM_REFERENCE_ENERGIES},
    "mulliken_charges": "atomic_charges",
}
