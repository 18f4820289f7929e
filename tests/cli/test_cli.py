"""The acn-sklearn command."""

import csv
import importlib.util
import io
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
import torch
from ase import Atoms
from ase.io import write

from acn_sklearn import __version__
from acn_sklearn.cli import main
from acn_sklearn.kernel_ridge import CompactKernelRidge
from acn_sklearn.persistence import load_model
from acn_sklearn.registry import make_model

needs_qm9 = pytest.mark.skipif(
    importlib.util.find_spec("qm9pack") is None, reason='needs pip install "acn-sklearn[qm9]"'
)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"acn-sklearn {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: acn-sklearn" in capsys.readouterr().out


def test_unknown_command_fails(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["frobnicate"])
    assert exit_.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


@pytest.mark.slow
def test_console_script_is_installed():
    script = Path(sys.executable).with_name("acn-sklearn")
    out = subprocess.run(
        [str(script), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert __version__ in out


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (
            "fit",
            [
                "--target TARGET property to learn (default: U_atomization)",
                "seed of the subset (default: 0)",
            ],
        ),
        (
            "learning-curve",
            [
                "(default: U_atomization)",
                "seed of the test set (default: 0)",
                "output folder (default: learning_curve)",
            ],
        ),
        (
            "tune",
            [
                "(default: U_atomization)",
                "seed of the test set (default: 0)",
                "output folder (default: tune-MODEL)",
                "(default: 60)",
            ],
        ),
    ],
)
def test_help_shows_the_defaults(command, shown, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for words in shown:
        assert words in text


def test_every_command_is_described(capsys):
    assert main([]) == 2
    listing = capsys.readouterr().out
    for command in ("data", "learning-curve", "fit", "predict", "tune"):
        assert re.search(rf"^ +{command}\s+\w", listing, flags=re.MULTILINE), command


@pytest.mark.slow
@needs_qm9
def test_data_summarises_qm9(capsys, qm9_data_home):
    assert main(["data", "--data-home", str(qm9_data_home)]) == 0
    out = capsys.readouterr().out
    assert "QM9: 130,831 molecules, 2,359,210 atoms (3 to 29 per molecule" in out
    assert "H (1,208,486 atoms), C (831,925 atoms), N (132,498 atoms)" in out
    assert "F (3,036 atoms)" in out
    assert "U_atomization   kcal/mol" in out
    assert "gap             hartree" in out
    assert "  mulliken_charges e " in out
    assert "one per atom: y of shape (130831, 29), aligned with X, 0 at padding" in out


@pytest.fixture
def small_files(tmp_path, qm9_subset_atoms):
    """Training molecules with U_atomization in their properties, and others to predict."""
    train, new = tmp_path / "train.extxyz", tmp_path / "new.xyz"
    write(train, qm9_subset_atoms[:150], format="extxyz")
    unnamed = [Atoms(a.numbers, a.positions) for a in qm9_subset_atoms[150:160]]
    write(new, unnamed, format="xyz")
    return train, new


def test_fit_on_own_molecules_then_predict_csv(small_files, tmp_path, qm9_subset, capsys):
    train, new = small_files
    model = tmp_path / "cm.model"
    assert main(["fit", "--model", "cm", "--data", str(train), "-o", str(model)]) == 0
    assert "fitting cm on 150 molecules" in capsys.readouterr().err
    # saved with its training molecules instead of their representations
    assert isinstance(load_model(model).estimator[-1], CompactKernelRidge)
    out = tmp_path / "p.csv"
    assert main(["predict", str(model), str(new), "-o", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["name", "U_atomization (kcal/mol)", "reason"]
    assert [r[0] for r in rows[1:]] == [f"{new}:{i}" for i in range(10)]
    assert all(r[2] == "" for r in rows[1:])
    X, y = qm9_subset
    expected = make_model("cm").fit(X[:150], y[:150]).predict(X[150:160])
    np.testing.assert_allclose([float(r[1]) for r in rows[1:]], expected, rtol=1e-6)


def test_predict_prints_names_to_stdout(small_files, tmp_path, capsys):
    train, _ = small_files
    model = tmp_path / "cm.model"
    main(["fit", "--model", "cm", "--data", str(train), "--n-train", "100", "-o", str(model)])
    capsys.readouterr()
    assert main(["predict", str(model), str(train)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 151 and lines[1].startswith("NC1=CN(CCO)N=C1,-1")


def test_predict_names_molecules_by_their_xyz_comment_line(small_files, tmp_path, capsys):
    train, _ = small_files
    model = tmp_path / "cm.model"
    main(["fit", "--model", "cm", "--data", str(train), "--n-train", "50", "-o", str(model)])
    water = "3\n{}\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n"
    mine = tmp_path / "mine.xyz"
    mine.write_text(water.format("water, gas phase") + water.format("water again"))
    capsys.readouterr()
    assert main(["predict", str(model), str(mine)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert [row[0] for row in rows[1:]] == ["water, gas phase", "water again"]


def _fit_own_targets(molecules, tmp_path, name, *extra):
    """``acn-sklearn fit`` of a CM model to a CSV column ``name`` (0 .. 9); the model file."""
    targets = tmp_path / "t.csv"
    targets.write_text(f"{name}\n" + "\n".join(str(v) for v in range(10)) + "\n")
    model = tmp_path / "m"
    args = ["fit", "--model", "cm", "--data", str(molecules), "--targets", str(targets)]
    assert main([*args, "--target", name, *extra, "-o", str(model)]) == 0
    return model


def test_fit_reads_targets_from_a_csv(small_files, tmp_path, qm9_subset):
    model = _fit_own_targets(small_files[1], tmp_path, "energy")
    assert load_model(model).target == "energy"
    assert load_model(model).unit == "target units"


def test_own_targets_name_their_unit(small_files, tmp_path, capsys):
    _, new = small_files
    model = _fit_own_targets(new, tmp_path, "gap", "--unit", "eV")
    assert "(gap, eV)" in capsys.readouterr().err
    assert main(["predict", str(model), str(new)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "name,gap (eV),reason"
    assert main(["fit", "--model", "cm", "--unit", "eV", "-o", str(model)]) == 1
    assert "--unit names the unit of your own targets (--data)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--target", "homo_lumo"],
            r"molecule 0 \(NC1=CN\(CCO\)N=C1\) has no property 'homo_lumo'",
        ),
        (["--targets", "{csv}"], r"has 3 rows but the xyz file\(s\) hold 150 molecules"),
        (["--targets", "{csv}", "--target", "x"], r"has no column 'x'"),
        (["--n-train", "151"], r"--n-train 151 is larger than the 150 molecules"),
    ],
)
def test_fit_bad_input_is_explained(small_files, tmp_path, capsys, extra, message):
    train, _ = small_files
    (tmp_path / "t.csv").write_text("U_atomization\n1\n2\n3\n")
    extra = [e.format(csv=tmp_path / "t.csv") for e in extra]
    assert main(["fit", "--model", "cm", "--data", str(train), *extra, "-o", "m"]) == 1
    assert re.search(message, capsys.readouterr().err)


def test_predict_refuses_a_damaged_model(small_files, tmp_path, capsys):
    train, new = small_files
    model = tmp_path / "m"
    main(["fit", "--model", "cm", "--data", str(train), "-o", str(model)])
    model.write_bytes(model.read_bytes()[:-10])
    assert main(["predict", str(model), str(new)]) == 1
    assert "is corrupted or truncated" in capsys.readouterr().err


def test_predict_loads_an_old_pickle_model_only_with_trusted(small_files, tmp_path, capsys):
    """A model file of the older pickle format runs code when loaded: predict refuses it
    in one line naming the flag, and predicts with --trusted as before."""
    import hashlib
    import json

    train, new = small_files
    model = tmp_path / "m"
    assert main(["fit", "--model", "cm", "--data", str(train), "-o", str(model)]) == 0
    expected = main(["predict", str(model), str(new)]), capsys.readouterr().out
    buffer = io.BytesIO()
    joblib.dump(load_model(model).estimator, buffer)
    header = json.loads(model.read_bytes().partition(b"\n")[0])
    header |= {"format": 1, "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}
    model.write_bytes(json.dumps(header).encode() + b"\n" + buffer.getvalue())
    assert main(["predict", str(model), str(new)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--trusted" in err and "older pickle format" in err
    assert (
        main(["predict", str(model), str(new), "--trusted"]),
        capsys.readouterr().out,
    ) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("3\n\nH 0 0 0\nH 0 0 1\n", "line 1: the count says 3 atoms, but the file ends after 2"),
        ("2\n\nH 0 0 0\nH 0 0\n", "line 4: the atom line 'H 0 0' has 3 values; it needs 4"),
        ("2\n\nH 0 0 0\nXx 0 0 1\n", "line 4: 'Xx' is not an element symbol"),
        ("", "holds no molecules (the file is empty)"),
    ],
    ids=["short", "missing-coordinate", "unknown-element", "empty"],
)
def test_a_malformed_xyz_file_is_one_error_line(tmp_path, capsys, text, problem):
    bad = tmp_path / "bad.xyz"
    bad.write_text(text)
    assert main(["fit", "--model", "cm", "--data", str(bad), "-o", str(tmp_path / "m")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"acn-sklearn fit: error: {bad}: {problem}")


def test_fit_on_a_subset_accepts_every_element_of_the_data(tmp_path, qm9_subset_atoms, capsys):
    """A kernel model fitted on a subset without fluorine still predicts CH3F."""
    no_fluorine = [a for a in qm9_subset_atoms if 9 not in a.numbers]
    fluorine = [a for a in qm9_subset_atoms if 9 in a.numbers]
    data = tmp_path / "data.extxyz"
    write(data, no_fluorine[:40] + fluorine[:1], format="extxyz")
    # A seed whose subset of 20 (the CLI draws a seeded permutation) leaves out molecule 40.
    seed = next(s for s in range(100) if 40 not in np.random.default_rng(s).permutation(41)[:20])
    model = tmp_path / "m"
    args = ["fit", "--model", "cm", "--data", str(data), "--n-train", "20"]
    assert main([*args, "--random-state", str(seed), "-o", str(model)]) == 0
    assert 9 in load_model(model).estimator[0].elements_
    probe = tmp_path / "probe.xyz"
    positions = [
        [0, 0, 0],
        [0, 0, 1.38],
        [1.03, 0, -0.36],
        [-0.51, 0.89, -0.36],
        [-0.51, -0.89, -0.36],
    ]
    write(probe, [Atoms("CFH3", positions)], format="xyz")
    assert main(["predict", str(model), str(probe)]) == 0


TINY_ACN_SPEC = (
    "acn:embedding_dim=4,cloud_channels=4,atom_dim=16,hidden_sizes=(8, 8),n_radial=4,"
    "batch_size=8,max_epochs=120,random_state=0,verbose=2"
)


def _interruptible():
    """Let the child take Ctrl-C as a terminal's foreground process does: a test run
    started as a background job inherits SIGINT ignored, and Python keeps ignoring it
    (the fit then ran to its end and saved its model)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_fit_checkpoint_resumes_a_stopped_fit(small_files, tmp_path, qm9_subset, capsys, stop):
    train, _ = small_files
    checkpoint, model = tmp_path / "checkpoint", tmp_path / "acn.model"
    args = ["fit", "--model", TINY_ACN_SPEC, "--data", str(train), "-o", str(model)]
    args += ["--checkpoint", str(checkpoint)]
    command = [sys.executable, "-m", "acn_sklearn.cli", *args]
    fit = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    saved = checkpoint / "acn_checkpoint.pt"

    def epochs_saved():
        # Counted in the checkpoint itself: its inode number alternates between two
        # values (each save replaces the file), so comparing inodes misses saves.
        if not saved.exists():
            return 0
        return torch.load(saved, weights_only=True)["history"].count('"epoch"')

    while fit.poll() is None and epochs_saved() < 2:  # epoch 1 is printed by then
        time.sleep(0.01)
    # Epochs take ~30 ms: enough of them that the fit is still running when the signal lands.
    assert fit.poll() is None, "the fit ended before it could be stopped"
    fit.send_signal(stop)
    out, err = fit.communicate()
    assert not model.exists()
    if stop == signal.SIGINT:
        assert fit.returncode == 130 and "run the same command again to resume" in err
    assert "\x1b[" not in out and "time_left" in out  # piped: plain text
    done = torch.load(saved, weights_only=True)["history"].count('"epoch"')
    assert 2 <= done < 120
    assert main(args) == 0
    assert f"resumed fit: {done} epochs done" in capsys.readouterr().out
    resumed = load_model(model).estimator
    X, y = qm9_subset
    whole = make_model(TINY_ACN_SPEC).fit(X[:150], y[:150])
    assert len(resumed.history) == len(whole.history)
    np.testing.assert_array_equal(resumed.predict(X[300:]), whole.predict(X[300:]))


def test_fit_checkpoint_is_for_networks(small_files, tmp_path, capsys):
    train, _ = small_files
    args = ["fit", "--model", "cm", "--data", str(train), "-o", str(tmp_path / "m")]
    assert main([*args, "--checkpoint", str(tmp_path / "c")]) == 1
    assert "--checkpoint is for networks" in capsys.readouterr().err


def test_predict_warns_once_per_reason_for_molecules_outside_the_domain(
    small_files, tmp_path, capsys
):
    from test_domain import alkane

    train, _ = small_files
    model = tmp_path / "m"
    assert main(["fit", "--model", "slatm", "--data", str(train), "-o", str(model)]) == 0
    large = tmp_path / "large.xyz"
    write(large, [alkane(13), alkane(15)], format="xyz")
    capsys.readouterr()
    assert main(["predict", str(model), str(large)]) == 0
    err = capsys.readouterr().err.splitlines()
    warned = [line for line in err if line.startswith("warning: ")]
    assert len(warned) == 1
    assert "2 molecule(s) outside the training domain" in warned[0]
    assert "more heavy atoms than any training molecule" in warned[0]


@pytest.mark.parametrize("model_name", ["cm", "slatm"])
def test_predict_gives_every_model_a_value_for_a_larger_molecule(
    small_files, tmp_path, capsys, model_name
):
    """Issue 30, item 2: a molecule with more atoms than any training one (the Coulomb
    matrix's fitted size) is predicted with a warning by every kernel model, not refused."""
    from test_domain import alkane

    train, _ = small_files
    model = tmp_path / "m"
    assert main(["fit", "--model", model_name, "--data", str(train), "-o", str(model)]) == 0
    large = tmp_path / "large.xyz"
    write(large, [alkane(13)], format="xyz")  # 41 atoms
    capsys.readouterr()
    assert main(["predict", str(model), str(large)]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.reader(out.splitlines()))
    assert rows[1][1] != "" and np.isfinite(float(rows[1][1]))
    assert "more heavy atoms than any training molecule" in err


def test_predict_warns_for_positions_in_bohr(small_files, tmp_path, capsys):
    from test_domain import BOHR, WATER

    train, _ = small_files
    model = tmp_path / "m"
    assert main(["fit", "--model", "cm", "--data", str(train), "-o", str(model)]) == 0
    water = tmp_path / "water.xyz"
    write(water, [WATER, Atoms(WATER.numbers, WATER.positions * BOHR)], format="xyz")
    capsys.readouterr()
    assert main(["predict", str(model), str(water)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning")]
    assert len(warned) == 1 and "1 molecule(s) outside the training domain" in warned[0]
    assert f"(positions in bohr? they must be in Angstrom): molecule(s) {water}:1;" in warned[0]


def test_predict_std_writes_a_column_and_warns_once_per_reason(small_files, tmp_path, capsys):
    from test_domain import alkane

    train, new = small_files
    model = tmp_path / "m"
    fit = ["fit", "--model", "fchl19", "--data", str(train), "-o", str(model)]
    assert main(fit) == 0  # compact: no std
    large = tmp_path / "large.xyz"
    write(large, [alkane(13), alkane(15)], format="xyz")
    assert main(["predict", str(model), str(large), "--std"]) == 1
    assert "acn-sklearn fit --std" in capsys.readouterr().err
    assert main([*fit, "--std"]) == 0
    out = tmp_path / "p.csv"
    capsys.readouterr()
    assert main(["predict", str(model), str(large), "--std", "-o", str(out)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning: ")]
    assert len(warned) == 2 and all("2 molecule(s) outside" in line for line in warned)
    assert "more heavy atoms than any training molecule" in warned[0]
    assert "uncertainty far above the validation level" in warned[1]
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["name", "U_atomization (kcal/mol)", "std (kcal/mol)", "reason"]
    estimator = load_model(model).estimator
    mean, std = estimator.predict([alkane(13), alkane(15)], return_std=True)
    np.testing.assert_allclose([[float(v) for v in r[1:3]] for r in rows[1:]], np.c_[mean, std])
    assert main(["predict", str(model), str(new)]) == 0  # without --std: no std column
    assert capsys.readouterr().out.splitlines()[0] == "name,U_atomization (kcal/mol),reason"


TINY_NETWORK = (
    "embedding_dim=4,cloud_channels=4,atom_dim=16,hidden_sizes=(8, 8),n_radial=4,"
    "batch_size=50,max_epochs=2,random_state=0"
)


def test_fit_tells_acn_the_target_so_mu_gets_the_dipole_head(small_files, tmp_path):
    train, _ = small_files
    model = tmp_path / "acn.model"
    args = ["fit", "--model", f"acn:{TINY_NETWORK}", "--data", str(train), "-o", str(model)]
    assert main([*args, "--target", "mu"]) == 0
    assert load_model(model).estimator.heads_ == ("dipole",)
    # a target of the user's own has no known kind: the default head
    assert main([*args, "--target", "U_atomization"]) == 0
    assert load_model(model).estimator.heads_ == ("extensive",)


def test_fit_interrupted_without_a_checkpoint_saves_nothing(
    small_files, tmp_path, monkeypatch, capsys
):
    from acn_sklearn.acn._callbacks import Progress

    def ctrl_c(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt  # skorch ends the fit quietly, as on Ctrl-C

    monkeypatch.setattr(Progress, "on_epoch_end", ctrl_c)
    train, _ = small_files
    model = tmp_path / "acn.model"
    args = ["fit", "--model", f"acn:{TINY_NETWORK}", "--data", str(train), "-o", str(model)]
    assert main(args) == 130
    assert "interrupted; nothing saved" in capsys.readouterr().err
    assert not model.exists()


def test_fit_and_predict_atomic_charges_one_row_per_atom(tmp_path, qm9_subset_atoms, capsys):
    molecules = [atoms.copy() for atoms in qm9_subset_atoms[:120]]
    for atoms in molecules:
        charges = np.where(atoms.numbers == 1, 0.1, -0.2)
        atoms.arrays["mulliken_charges"] = charges - charges.mean()
    train, new = tmp_path / "charges.extxyz", tmp_path / "new.xyz"
    write(train, molecules, format="extxyz")
    write(new, [Atoms(a.numbers, a.positions) for a in qm9_subset_atoms[200:203]], format="xyz")
    model, out = tmp_path / "atoms.model", tmp_path / "charges.csv"
    fit = ["fit", "--model", f"acn_atom:{TINY_NETWORK}", "--data", str(train)]
    assert main([*fit, "--target", "mulliken_charges", "-o", str(model)]) == 0
    assert main(["predict", str(model), str(new), "-o", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["molecule", "name", "atom", "element", "mulliken_charges (e)", "reason"]
    atoms = qm9_subset_atoms[200:203]
    assert len(rows) - 1 == sum(len(a) for a in atoms)
    expected = [(str(m), str(i), s) for m, a in enumerate(atoms) for i, s in enumerate(a.symbols)]
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == expected
    first = [float(r[4]) for r in rows[1:] if r[0] == "0"]
    assert abs(sum(first)) < 1e-4  # neutral: the charges sum to zero
    capsys.readouterr()
    assert main([*fit, "--model", "acn", "--target", "mulliken_charges", "-o", "m"]) == 1
    assert "use ACNAtomRegressor (model 'acn_atom')" in capsys.readouterr().err


CH3CL = "5\nCH3Cl\nC 0 0 0\nCl 1.78 0 0\nH -0.36 1.03 0\nH -0.36 -0.51 0.89\nH -0.36 -0.51 -0.89\n"


def test_predict_keeps_every_valid_molecule_and_names_the_others(
    small_files, tmp_path, qm9_subset_atoms, capsys
):
    from test_domain import alkane

    train, _ = small_files
    model = tmp_path / "slatm.model"
    fit = ["fit", "--model", "slatm", "--data", str(train), "--n-train", "60", "-o", str(model)]
    assert main(fit) == 0
    a, b = tmp_path / "a.xyz", tmp_path / "b.xyz"
    squashed = qm9_subset_atoms[203].copy()
    squashed.positions[1] = squashed.positions[0] + 0.1  # two atoms on top of each other
    write(a, [Atoms(m.numbers, m.positions) for m in qm9_subset_atoms[200:202]], format="xyz")
    with b.open("w") as handle:
        write(handle, [qm9_subset_atoms[202], alkane(13), squashed], format="extxyz")
        handle.write(CH3CL)
    out = tmp_path / "p.csv"
    capsys.readouterr()
    assert main(["predict", str(model), str(a), str(b), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    warned = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warned[-2:] == [
        f"warning: {b}:2 ({squashed.info['smiles']}): not predicted: atoms 0 and 1 are 0.173 A "
        "apart, closer than min_distance=0.5 A",
        f"warning: {b}:3 (CH3Cl): not predicted: element Cl not seen in fit (this SLATM "
        "accepts H, C, N, O, F)",
    ]
    # DomainWarnings name the molecules as the failures do, not by an index over all files
    assert f"more heavy atoms than any training molecule (9): molecule(s) {b}:1;" in warned[0]
    assert "2 of 6 molecules not predicted" in err
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["name", "U_atomization (kcal/mol)", "reason"]
    assert [r[0] for r in rows[1:]] == [
        f"{a}:0",
        f"{a}:1",
        qm9_subset_atoms[202].info["smiles"],
        f"{b}:1",
        squashed.info["smiles"],
        "CH3Cl",
    ]
    assert [r[1] == "" for r in rows[1:]] == [False] * 4 + [True] * 2
    assert rows[5][2].startswith("atoms 0 and 1") and rows[6][2].startswith("element Cl")
    valid = [*qm9_subset_atoms[200:203], alkane(13)]
    expected = load_model(model).estimator.predict(valid)
    np.testing.assert_allclose([float(r[1]) for r in rows[1:5]], expected, rtol=1e-9)
    # --strict: all or nothing
    out.unlink()
    assert main(["predict", str(model), str(a), str(b), "-o", str(out), "--strict"]) == 1
    assert "2 of 6 molecules cannot be predicted (--strict" in capsys.readouterr().err
    assert not out.exists()


def test_predict_writes_extxyz_with_the_values_in_each_frames_info(
    small_files, tmp_path, qm9_subset_atoms, capsys
):
    from ase.io import read

    train, _ = small_files
    model = tmp_path / "cm.model"
    fit = ["fit", "--model", "cm", "--data", str(train), "--n-train", "80", "--std"]
    assert main([*fit, "-o", str(model)]) == 0
    mine = tmp_path / "mine.xyz"
    write(mine, [Atoms(m.numbers, m.positions) for m in qm9_subset_atoms[200:203]], format="xyz")
    with mine.open("a") as handle:
        handle.write(CH3CL)
    out = tmp_path / "p.extxyz"
    assert main(["predict", str(model), str(mine), "--std", "-o", str(out)]) == 2
    frames = read(out, index=":")
    assert [len(f) for f in frames] == [len(m) for m in qm9_subset_atoms[200:203]] + [5]
    mean, std = load_model(model).estimator.predict(qm9_subset_atoms[200:203], return_std=True)
    np.testing.assert_allclose([f.info["U_atomization"] for f in frames[:3]], mean, rtol=1e-12)
    np.testing.assert_allclose([f.info["U_atomization_std"] for f in frames[:3]], std, rtol=1e-12)
    np.testing.assert_allclose(frames[1].positions, qm9_subset_atoms[201].positions)
    assert frames[3].info["name"] == "CH3Cl" and "U_atomization" not in frames[3].info
    assert frames[3].info["reason"].startswith("element Cl not seen in fit")
    # other suffixes: CSV
    assert main(["predict", str(model), str(mine), "-o", str(tmp_path / "p.txt")]) == 2
    assert (tmp_path / "p.txt").read_text().startswith("name,U_atomization (kcal/mol),reason")
