"""The acn-sklearn command."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from acn_sklearn import __version__
from acn_sklearn.cli import main

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


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("acn-sklearn")
    out = subprocess.run(
        [str(script), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert __version__ in out


@needs_qm9
def test_data_summarises_qm9(capsys, qm9_data_home):
    assert main(["data", "--data-home", str(qm9_data_home)]) == 0
    out = capsys.readouterr().out
    assert "QM9: 130,831 molecules, 2,359,210 atoms (3 to 29 per molecule" in out
    assert "H (1,208,486 atoms), C (831,925 atoms), N (132,498 atoms)" in out
    assert "F (3,036 atoms)" in out
    assert "U_atomization   kcal/mol" in out
    assert "gap             hartree" in out
