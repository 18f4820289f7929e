"""Where and when a result was produced: date, machine and package versions."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path


def machine() -> str:
    """One line saying what machine the numbers come from (CPU, cores, Python, torch)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"torch {torch.__version__}, {platform.system()}"
    )


def now() -> str:
    """The local date and time, to the minute, with its time zone."""
    return f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"


def provenance(command: str) -> dict[str, str]:
    """The command, date, machine and acn_sklearn version of a run, for its outputs."""
    from .. import __version__

    return {"command": command, "date": now(), "machine": machine(), "acn_sklearn": __version__}
