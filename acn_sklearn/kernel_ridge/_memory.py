"""Refuse a kernel that would not fit in memory, before allocating it."""

from __future__ import annotations

import math
import os

#: Bytes per kernel entry (float64).
ENTRY_BYTES = 8


def available_memory() -> int:
    """Bytes of memory available to new allocations (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_kernel_fits(
    n_samples: int, max_memory: int | None, overhead: int = 0, n_matrices: int = 1
) -> None:
    """Raise if the ``n_samples x n_samples`` training kernel(s) would not fit.

    Parameters
    ----------
    n_samples : int
        Training-set size N.
    max_memory : int or None
        Bytes the kernel may use; None means the memory available now.
    overhead : int, default=0
        Further bytes needed while the kernel is built (temporary blocks).
    n_matrices : int, default=1
        N x N matrices held at once (more than one while hyperparameters are
        searched).

    Raises
    ------
    MemoryError
        Saying how much the kernel needs, how much there is, and the largest N
        that fits.
    """
    budget = available_memory() if max_memory is None else int(max_memory)
    need = n_matrices * n_samples * n_samples * ENTRY_BYTES + overhead
    if need > budget:
        largest = math.isqrt(max(budget - overhead, 0) // (n_matrices * ENTRY_BYTES))
        what = "training kernel" if n_matrices == 1 else f"matrices ({n_matrices} of them)"
        raise MemoryError(
            f"the {n_samples:,} x {n_samples:,} {what} need{'s' if n_matrices == 1 else ''} "
            f"{need / 2**30:.2f} GiB but only {budget / 2**30:.2f} GiB are available; at most "
            f"N = {largest:,} training samples fit (train on fewer molecules or raise max_memory)"
        )
