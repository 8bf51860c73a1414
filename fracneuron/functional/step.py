r"""The fractional step: the one formula every neuron, adapter, solver and fused path calls.

A framework advances a membrane by its own increment, v_n = v_{n-1} + Δ_n. The Caputo step of
order α (DESIGN.md) is

    H_n = v_{n-1} + s·Δ_n + c_n,        c_n = −Σ_{k=1}^{n} ω_k (v_{n-k} − v_0)

with s = h^{α−1} (multi-term: 1/(h W_0)) and c_n from a memory engine. This module writes it
once, with its two exact shortcuts:

* α = 1 (``correction`` is ``None``): no memory and s = 1, H_n = v_{n-1} + Δ_n — the framework's
  own update, bit for bit;
* s = 1 exactly (``scale`` is ``None``: one term, unit step), H_n = (v_{n-1} + Δ_n) + c_n — the
  native charged potential plus one addition, so a framework's own charge is kept as it rounds.

Callers pass the increment Δ_n, or the native charged potential v_{n-1} + Δ_n they already
have (SpikingJelly's transition, snnTorch's state function).
"""

from __future__ import annotations

import torch

__all__ = ["fractional_potential"]


def fractional_potential(
    v_prev: torch.Tensor,
    correction: torch.Tensor | None,
    scale: torch.Tensor | float | None = None,
    *,
    increment: torch.Tensor | None = None,
    charged: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """H_n = v_{n-1} + s·Δ_n + c_n, given ``increment`` = Δ_n or ``charged`` = v_{n-1} + Δ_n.

    Shapes: every tensor is the state's ``[batch, *features]`` (``scale`` broadcasts: a scalar,
    or one s per neuron). ``correction`` ``None`` is the Markovian step (α = 1); ``scale``
    ``None`` means s = 1 exactly. ``out``: a tensor of H's shape to write H into (the same
    values; a fused sequence fills its ``[T, ...]`` buffer without stacking).
    """
    if (increment is None) == (charged is None):
        raise TypeError("fractional_potential takes exactly one of increment= and charged=")
    if correction is None:  # α = 1: the native update
        H = charged if charged is not None else v_prev + increment
    elif scale is None:  # s = 1: the native charge, plus the memory
        base = charged if charged is not None else v_prev + increment
        return base + correction if out is None else torch.add(base, correction, out=out)
    else:
        if increment is None:
            increment = charged - v_prev
        H = v_prev + scale * increment + correction
    return H if out is None else out.copy_(H)
