"""torch.distributed plumbing for the training engine and for sharded generation.

Under a launcher (``torchrun``, Slurm with the usual environment variables)
``WORLD_SIZE`` is greater than 1; the engine then joins, or creates, the
default process group (gloo on CPU, nccl on CUDA) and trains with
``DistributedDataParallel``.  Outside a launcher every helper here is a no-op
for a world of one process.
"""

import os

import torch
import torch.distributed as dist

__all__ = [
    "launched_world_size",
    "is_distributed",
    "init_distributed",
    "rank",
    "world_size",
    "broadcast_ints",
    "all_reduce_sums",
    "all_gather_with_grad",
    "broadcast_buffers",
]


def launched_world_size():
    """The process count a launcher asked for (``WORLD_SIZE``), 1 without one."""
    try:
        return max(1, int(os.environ.get("WORLD_SIZE", "1")))
    except ValueError:
        return 1


def is_distributed():
    """True when a process group of more than one process is running."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def init_distributed(device):
    """Join (or create) the default process group when launched with ``WORLD_SIZE`` > 1.

    Parameters
    ----------
    device : torch.device
        The training device; it chooses the backend (nccl for CUDA, gloo
        otherwise).  For CUDA the process's device becomes ``cuda:LOCAL_RANK``.

    Returns
    -------
    device : torch.device
        The device this rank trains on.
    """
    if launched_world_size() <= 1 or not dist.is_available():
        return device
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def rank():
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if is_distributed() else 0


def world_size():
    """The number of processes (1 without a process group)."""
    return dist.get_world_size() if is_distributed() else 1


def broadcast_ints(values):
    """Rank 0's list of integers, on every rank (so seeds agree under ``random_state=None``)."""
    if not is_distributed():
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.int64)
    dist.broadcast(tensor, src=0)
    return [int(v) for v in tensor.tolist()]


def all_reduce_sums(values):
    """Elementwise sums over the ranks of a list of floats (float64)."""
    if not is_distributed():
        return list(values)
    tensor = torch.tensor(list(values), dtype=torch.float64)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.tolist()


def all_gather_with_grad(tensor):
    """Concatenate a tensor's rows from every rank, keeping the gradient to this rank's rows.

    The backward pass sums each rank's gradient into the rows it gave, so a
    loss computed identically on every rank from the gathered tensor (such as
    the Cox partial likelihood over the risk sets of the global batch),
    followed by DDP's gradient averaging, gives the single-process gradient of
    that loss.  All ranks must pass tensors of the same shape.
    """
    if not is_distributed():
        return tensor
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(tensor.contiguous()), dim=0)


def broadcast_buffers(modules):
    """Give every rank rank 0's buffers (batch-norm running statistics) of ``modules``.

    DDP broadcasts buffers at the start of each forward pass, so after the last
    one the ranks' running statistics differ by their last local update; the
    engine calls this when training ends so that all ranks hold the same model.
    """
    if not is_distributed():
        return
    for module in modules:
        for buffer in module.buffers():
            dist.broadcast(buffer.data, src=0)
