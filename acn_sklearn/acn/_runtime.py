"""Process-wide torch settings for the duration of a fit or predict call."""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch


@contextmanager
def torch_cpu_settings(n_jobs):
    """Run torch with ``n_jobs`` threads and denormal floats flushed to zero.

    ``n_jobs`` follows sklearn: None = 1, -1 = all cores. Softplus units pushed
    far negative during training produce denormal (subnormal) floats, which x86
    CPUs process about 10x slower: without flushing, epochs of a long fit grew
    severalfold. Values below 1e-38 change nothing else. Both settings are
    process-wide; afterwards the thread count is restored and flushing is
    switched back off (torch's default).
    """
    if n_jobs is None:
        n_jobs = 1
    elif n_jobs < 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    before = torch.get_num_threads()
    torch.set_num_threads(n_jobs)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(before)
