"""Data-parallel training with torch.distributed: who am I, which device, which shard of a batch.

Launch: ``torchrun --nproc_per_node=2 -m fracneuron train --ddp`` (gloo on CPU, nccl on CUDA).

Every rank draws the same global batch (same permutation, same spike encoding) and trains on
its contiguous shard; the loss of a shard is its summed cross-entropy times ``world / global
batch size``, so DDP's gradient average is exactly the gradient of the global batch mean — the
update a single process makes on the same global batch.

Buffers: DDP is built without per-forward buffer sync (``forward_sync_buffers=False``, or
``broadcast_buffers=False`` before torch 2.13; buffers are equal at start on every rank). Nothing in these models needs
broadcasting: a fractional neuron's history lives in plain attributes of its memory engine (not
buffers), the fixed α is a constant buffer equal on every rank, and snnTorch's ``mem`` buffer is
per-sequence state each rank resets itself (its shape follows the local batch, so broadcasting it
would even fail on an uneven last batch).
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
from torch import nn

from .config import ConfigError

__all__ = ["Context", "setup", "wrap", "shard", "all_sum", "close"]

LAUNCH_HINT = "launch it with torchrun, e.g. torchrun --nproc_per_node=2 -m fracneuron train --ddp"


@dataclass
class Context:
    """This process's place in the run: ``rank`` of ``world`` processes, on ``device``."""

    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    distributed: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0 prints and writes the outputs."""
        return self.rank == 0


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` → CUDA when available, else CPU; ``cuda`` under DDP → this rank's GPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available on this machine (use --device cpu)")
        if name == "cuda":
            name = f"cuda:{local_rank}"
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("--device mps: MPS is not available on this machine (use --device cpu)")
    return torch.device(name)


def setup(ddp: bool, device: str) -> Context:
    """Join the process group when ``ddp`` (environment from torchrun); pick the device."""
    if not ddp:
        return Context(device=resolve_device(device))
    missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise ConfigError(f"--ddp: {', '.join(missing)} not set; {LAUNCH_HINT}")
    local_rank = int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    dev = resolve_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    backend = "nccl" if dev.type == "cuda" else "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend=backend)
    return Context(torch.distributed.get_rank(), torch.distributed.get_world_size(), dev, True)


def wrap(model: nn.Module, ctx: Context) -> nn.Module:
    """``model`` itself, or DistributedDataParallel around it (see the module notes on buffers)."""
    if not ctx.distributed:
        return model
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    ddp = nn.parallel.DistributedDataParallel
    if "forward_sync_buffers" in inspect.signature(ddp.__init__).parameters:  # torch >= 2.13
        return ddp(model, device_ids=device_ids, forward_sync_buffers=False)
    return ddp(model, device_ids=device_ids, broadcast_buffers=False)


def shard(n: int, ctx: Context) -> slice:
    """This rank's contiguous share of ``n`` items (sizes differ by at most one)."""
    base, extra = divmod(n, ctx.world)
    start = ctx.rank * base + min(ctx.rank, extra)
    return slice(start, start + base + (1 if ctx.rank < extra else 0))


def all_sum(values: list[float], ctx: Context) -> list[float]:
    """Sum ``values`` over the ranks (a no-op for a single process)."""
    if not ctx.distributed:
        return list(values)
    device = ctx.device if ctx.device.type == "cuda" else torch.device("cpu")
    total = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(total)
    return total.tolist()


def wait_for_all(ctx: Context) -> None:
    """Barrier at the end of a successful run: no rank tears its process group down while a peer's
    communication threads still talk to it (gloo aborts the process then)."""
    if ctx.distributed and torch.distributed.is_initialized():
        torch.distributed.barrier()


def close(ctx: Context) -> None:
    if ctx.distributed and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
