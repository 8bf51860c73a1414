"""The one stepping loop every ``fdeint`` method runs in (torchdiffeq's shape: the methods declare
their weights and update, the loop lives here once).

Each step calls the method's three phases (:mod:`fracneuron.solvers.base`): ``prepare`` (history
sums), ``local`` (the update, evaluating the right-hand side) and ``finish`` (remember the step).
Only the local phase goes through ``run``, so :func:`~fracneuron.solvers.fdeint_adjoint` can
recompute it during the backward pass while the histories stay stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .base import FractionalMethod

__all__ = ["integrate", "one_step"]

Func = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def one_step(
    method: FractionalMethod,
    g: Func,
    t_prev: torch.Tensor,
    t_now: torch.Tensor,
    y_prev: torch.Tensor,
    prepared: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The local part of a step: evaluate g at the start, then the method's update."""
    g_prev = g(t_prev, y_prev)
    return method.local(y_prev, g_prev, lambda y: g(t_now, y), prepared), g_prev


def integrate(
    method: FractionalMethod,
    g: Func,
    y0: torch.Tensor,
    t: torch.Tensor,
    run: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> torch.Tensor:
    """y_0 … y_{N-1} on the grid ``t`` (stacked, shape ``[N, *y0.shape]``).

    ``run(one_step, *args)`` executes the local part of each step (``fdeint_adjoint`` passes a
    checkpointing runner); ``g(t, y)`` works in ``y0``'s shape.
    """
    method.reset()
    times = t.unbind(0)
    states = [y0]
    y = y0
    for n in range(1, len(times)):
        prepared = method.prepare(y, y0)
        if run is None:
            y_new, g_prev = one_step(method, g, times[n - 1], times[n], y, prepared)
        else:
            y_new, g_prev = run(one_step, method, g, times[n - 1], times[n], y, prepared)
        method.finish(y_new, g_prev, y)
        states.append(y_new)
        y = y_new
    return torch.stack(states)
