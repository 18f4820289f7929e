"""Torch settings for the duration of a fit or predict call."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

import torch

#: Guards the torch thread count shared by concurrent calls of every thread.
_lock = threading.Lock()
#: Calls inside :func:`torch_cpu_settings` now, and the thread count from before the first.
_calls = 0
_threads_before = 1


@contextmanager
def torch_cpu_settings(n_jobs):
    """Run torch with ``n_jobs`` threads and denormal floats flushed to zero.

    ``n_jobs`` follows sklearn: None = 1, -1 = all cores. Softplus units pushed
    far negative during training produce denormal (subnormal) floats, which x86
    CPUs process about 10x slower: without flushing, epochs of a long fit grew
    severalfold. Values below 1e-38 change nothing else. Flushing is a setting of
    the calling thread, switched back off (torch's default) when the call ends.
    The thread count is process-wide: calls overlapping in several threads (a web
    service predicting) share it, and the last one to end restores the count from
    before the first began; restoring each call's own earlier count would leave
    the count of whichever call was still running when another ended.
    """
    global _calls, _threads_before
    if n_jobs is None:
        n_jobs = 1
    elif n_jobs < 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    with _lock:
        if _calls == 0:
            _threads_before = torch.get_num_threads()
        _calls += 1
        torch.set_num_threads(n_jobs)
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)
        with _lock:
            _calls -= 1
            if _calls == 0:
                torch.set_num_threads(_threads_before)
