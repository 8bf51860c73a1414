r"""Integer-order (α = 1) fixed-step solvers: explicit Euler and classical Runge–Kutta 4.

    euler:  y_n = y_{n-1} + dt·f(t_{n-1}, y_{n-1})
    rk4:    y_n = y_{n-1} + dt/6 (k_1 + 2k_2 + 2k_3 + k_4)

One step per interval of ``t``, which may be non-uniform (each interval uses its own dt). The step
functions are plain functions so that neurons (``SNNWrapper(integrator="odeint")``) use the same
arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .._checks import check_choice, check_tensor

__all__ = ["odeint", "euler_step", "rk4_step", "ODE_STEPS"]

Func = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def euler_step(func: Func, t: torch.Tensor, y: torch.Tensor, dt, f: torch.Tensor | None = None) -> torch.Tensor:
    """y + dt·f(t, y) (``f`` given: already evaluated at (t, y))."""
    return y + dt * (func(t, y) if f is None else f)


def rk4_step(func: Func, t: torch.Tensor, y: torch.Tensor, dt, f: torch.Tensor | None = None) -> torch.Tensor:
    """Classical fourth-order Runge–Kutta step."""
    half = dt / 2
    k1 = func(t, y) if f is None else f
    k2 = func(t + half, y + half * k1)
    k3 = func(t + half, y + half * k2)
    k4 = func(t + dt, y + dt * k3)
    return y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)


ODE_STEPS = {"euler": euler_step, "rk4": rk4_step}


def odeint(
    func: Func, y0: torch.Tensor, t: torch.Tensor, method: str = "euler", options: dict | None = None
) -> torch.Tensor:
    """Solve dy/dt = func(t, y), y(t_0) = y0 at the times ``t``; returns ``[len(t), *y0.shape]``."""
    if not callable(func):
        raise TypeError(f"func must be callable as func(t, y), got {type(func).__name__}")
    y0 = check_tensor(y0, "y0")
    step = ODE_STEPS[check_choice(method, ODE_STEPS, "odeint method")]
    if options:
        raise ValueError(f"odeint takes no options (one step per interval of t), got {sorted(options)}")
    if not isinstance(t, torch.Tensor) or t.dim() != 1 or t.numel() == 0:
        raise ValueError("t must be a non-empty 1-D tensor of times")
    times = t.to(dtype=y0.dtype, device=y0.device)
    if not bool((times.diff() > 0).all()):
        raise ValueError("t must be strictly increasing")

    def rhs(time, y):
        out = func(time, y)
        if not isinstance(out, torch.Tensor) or out.shape != y.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"func must return a tensor of y's shape {tuple(y.shape)}, got {got}")
        return out

    states = [y0]
    for n in range(1, times.shape[0]):
        states.append(step(rhs, times[n - 1], states[-1], times[n] - times[n - 1]))
    return torch.stack(states)
