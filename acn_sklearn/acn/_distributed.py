"""Data-parallel training over processes with torch DistributedDataParallel.

When the user starts one process per device (``torchrun --nproc-per-node=K
script.py``) and the script calls :func:`torch.distributed.init_process_group`
(backend ``"gloo"`` on CPUs, ``"nccl"`` on GPUs) before ``fit``, every process
featurizes all training molecules and computes the same statistics and
validation split, but trains on its own shard of each epoch's shuffled molecules
(:class:`torch.utils.data.DistributedSampler`); DDP averages the gradients, so K
processes with ``batch_size=b`` take the steps of one process with
``batch_size=K * b``. Validation runs on every process over the whole
validation set, so early stopping and the learning-rate schedule decide the
same everywhere. Only rank 0 prints and saves checkpoints.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler


def world_size() -> int:
    """Processes training together: 1 unless :mod:`torch.distributed` is initialised."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Whether this process prints and saves (rank 0, or the only process)."""
    return world_size() == 1 or dist.get_rank() == 0


def shard(order: np.ndarray) -> np.ndarray:
    """This process's part of the molecules in ``order``, by a DistributedSampler.

    Rank r takes positions r, r + K, r + 2K, ... of ``order`` (the sampler pads
    by wrapping around, so every process gets as many molecules, hence as many
    batches), so the first b molecules of every shard together are the first
    K * b of ``order``: the batches of a one-process fit with K times the batch.
    """
    sampler = DistributedSampler(range(len(order)), shuffle=False)
    return order[list(sampler)]


def mean_over_processes(value: torch.Tensor) -> torch.Tensor:
    """The mean of a (detached) scalar over the processes."""
    value = value.detach().clone()
    dist.all_reduce(value)
    return value / world_size()


def data_parallel(module: torch.nn.Module, device) -> DistributedDataParallel | None:
    """``module`` wrapped in DistributedDataParallel, or None in a single process.

    Wrapping broadcasts rank 0's weights to every process.
    """
    if world_size() == 1:
        return None
    device = torch.device(device)
    return DistributedDataParallel(module, device_ids=[device] if device.type == "cuda" else None)
