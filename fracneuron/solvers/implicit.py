r"""Solvers for the implicit equation of one step:  y = b + c·f(y),  or with a linear part

    y = (b + c·g(y)) / (1 + c·λ)          (f = −λ·y + g, the linear part taken exactly)

``b`` collects everything known at the step, ``c`` is the scheme's weight of the new right-hand
side (h^α/Γ(α+2) for the product trapezoid, Γ(2−α)·h^α for L1).

* :class:`FixedPoint` — any f; converges when c·Lip(g) < 1 (small steps, or a stiff linear part
  moved into λ). Gradients flow through the iterations, which converge with the iterates.
* :class:`PointwiseNewton` — for a right-hand side that acts element by element (a neuron's
  dv/dt): Newton with the exact elementwise derivative, one differentiable Newton step at the
  solution, so gradients are those of the implicit function theorem. Exact in one step for an
  affine dv/dt (LIF, IF) however stiff.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["Solve", "FixedPoint", "PointwiseNewton", "DEFAULT_MAX_ITER", "IMPLICIT_OPTIONS"]

Rhs = Callable[[torch.Tensor], torch.Tensor]
#: ``solve(b, c, lam, g, guess) -> y``
Solve = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", Rhs, torch.Tensor], torch.Tensor]

DEFAULT_MAX_ITER = 100

#: The options of an implicit method's solve (``fdeint`` checks their values).
IMPLICIT_OPTIONS = ("tol", "max_iter")


def _default_tol(dtype: torch.dtype) -> float:
    return 64 * torch.finfo(dtype).eps


def _converged(y_new: torch.Tensor, y: torch.Tensor, tol: float) -> bool:
    """|y_new − y| <= tol·(1 + |y|) everywhere (one fused check: the loop is latency-bound)."""
    with torch.no_grad():
        return torch.allclose(y_new, y, rtol=tol, atol=tol)


def _not_converged(kind: str, max_iter: int, hint: str) -> RuntimeError:
    return RuntimeError(f"the implicit step did not converge in {max_iter} {kind} iterations; {hint}")


class FixedPoint:
    """y ← (b + c·g(y)) / (1 + c·λ) until every entry changes by less than ``tol``·(1 + |y|)."""

    def __init__(self, tol: float | None = None, max_iter: int = DEFAULT_MAX_ITER) -> None:
        self.tol, self.max_iter = tol, max_iter

    def __call__(self, b, c, lam, g, guess):
        scale = None if lam is None else 1.0 + c * lam
        threshold = _default_tol(b.dtype) if self.tol is None else self.tol
        y = guess
        for _ in range(self.max_iter):
            y_new = b + c * g(y)
            if scale is not None:
                y_new = y_new / scale
            done = _converged(y_new, y, threshold)
            y = y_new
            if done:
                return y
        raise _not_converged(
            "fixed-point",
            self.max_iter,
            "the step is too large for this right-hand side (c·Lipschitz ≥ 1): take a smaller step, "
            "pass a stiff linear part as options={'linear': lam}, or raise options['max_iter']",
        )


def _value_and_slope(g: Rhs, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """g(y) and its elementwise derivative dg_i/dy_i (g acts element by element), no graph kept."""
    with torch.enable_grad():
        point = y.detach().requires_grad_(True)
        value = g(point)
        (slope,) = torch.autograd.grad(value.sum(), point, allow_unused=True)
    if slope is None:
        slope = torch.zeros_like(point)
    return value.detach(), slope


def _detached(x):
    return x.detach() if isinstance(x, torch.Tensor) else x


class PointwiseNewton:
    """Newton for an elementwise g; the returned y carries the implicit-function gradient."""

    def __init__(self, tol: float | None = None, max_iter: int = 20) -> None:
        self.tol, self.max_iter = tol, max_iter

    def __call__(self, b, c, lam, g, guess):
        threshold = _default_tol(b.dtype) if self.tol is None else self.tol
        cd, bd = _detached(c), b.detach()
        one = 1.0 if lam is None else 1.0 + cd * _detached(lam)
        y = guess.detach()
        for _ in range(self.max_iter):
            value, slope = _value_and_slope(g, y)
            jac = one - cd * slope
            y_new = y - (one * y - bd - cd * value) / jac
            done = _converged(y_new, y, threshold)
            y = y_new
            if done:
                break
        else:
            raise _not_converged("Newton", self.max_iter, "the right-hand side may not be elementwise in the state")
        # One Newton step from the (detached) solution with everything else differentiable: the
        # value stays y, the gradient is (db + c·∂g) / (1 + cλ − c·g'), the implicit-function one.
        scale = 1.0 if lam is None else 1.0 + c * lam
        return y - (scale * y - b - c * g(y)) / jac
