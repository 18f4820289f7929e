"""Write tests/data/qm9_subset.extxyz: 400 random QM9 molecules with their targets.

Run once from the repository root (needs qm9pack):  python tests/data/make_qm9_subset.py
The file is committed, so the tests of the models never need the full dataset.
"""

from pathlib import Path

from ase.io import write

from acn_sklearn.datasets import load_qm9
from acn_sklearn.molecules import to_atoms

N_MOLECULES = 400
SEED = 20191201

qm9 = load_qm9(target=None, n_molecules=N_MOLECULES, random_state=SEED)
molecules = to_atoms(qm9.data)
for atoms, qm9_id, smiles, targets in zip(molecules, qm9.ids, qm9.smiles, qm9.target, strict=True):
    atoms.info = {"qm9_id": int(qm9_id), "smiles": str(smiles)}
    atoms.info.update(
        {name: float(value) for name, value in zip(qm9.target_names, targets, strict=True)}
    )
write(Path(__file__).with_name("qm9_subset.extxyz"), molecules, format="extxyz")
