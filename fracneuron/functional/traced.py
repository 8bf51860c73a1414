r"""The stored-history convolution in plain differentiable tensor operations, for ``torch.compile``.

The eager kernel (:mod:`fracneuron.functional.stored_history`) keeps the past in a preallocated buffer
and routes its backward through a hand-written ``autograd.Function``, which ``torch.compile``
cannot trace. Under compilation the engines use this instead: the past is one tensor
``[m, *shape]`` grown by one row per step, and

    y_m = Σ_{k=1}^{m} ρ_k x_{m-k}

is an elementwise product and a sum, so dynamo sees a static graph per step (no host reads, no
Python state in the arithmetic) and autograd differentiates it as usual. The values equal the
eager kernel's to rounding; the memory is O(T²·N) under autograd when ρ needs a gradient (each
step keeps its own past), so it is meant for the sequences a compiled model runs at once.
"""

from __future__ import annotations

import torch

__all__ = ["traced_history_step"]


def traced_history_step(past: torch.Tensor | None, x_prev: torch.Tensor, rho: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Append ``x_prev`` (``[batch, *features]``) to ``past`` (``[m − 1, batch, *features]`` or
    ``None``) and return ``(y_m, past')``.

    ``rho`` holds ρ_1 … ρ_m as ``[m, *A]`` (A: the per-neuron shape of the kernel, broadcasting
    against the features; ``()`` for one kernel per layer).
    """
    stacked = x_prev.unsqueeze(0) if past is None else torch.cat([past, x_prev.unsqueeze(0)])
    m = stacked.shape[0]
    kernel_dims = rho.dim() - 1
    weights = rho.flip(0).reshape(m, *([1] * (stacked.dim() - 1 - kernel_dims)), *rho.shape[1:])  # row j: ρ_{m-j}
    return (weights * stacked).sum(0), stacked
