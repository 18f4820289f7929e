"""The documentation gives the same commands as the README, whose test command CI runs."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def readme_command(label: str) -> str:
    """The command after ``<!-- label -->`` in the README, as .ci/run reads it."""
    found = re.search(rf"<!-- {label} -->\n```bash\n(.+)\n```", (ROOT / "README.md").read_text())
    assert found, f"README.md has no '{label}'"
    return found[1]


@pytest.mark.parametrize("label", ["main command", "test command"])
def test_install_page_gives_the_readme_commands(label):
    code = re.findall(r"\.\. code-block:: bash\n\n   (.+)", (ROOT / "docs/install.rst").read_text())
    assert readme_command(label) in code
