r"""What ``fdeint`` is given, checked and put into the shapes the schemes work in.

* :func:`uniform_step` — the time grid ``t``: one dimension, strictly increasing, uniform (a
  non-uniform grid is refused: every scheme here has weights for one step h).
* :class:`GivenOrder` — α (and multi-term coefficients) as the caller's tensors, so gradients
  reach them, behind the :class:`~fracneuron.order.FractionalOrder` interface the memory engines
  and the methods read.
* :func:`order_and_layout` — the state layout. A scalar α keeps ``y0``'s shape. An α tensor
  (one order per element) is broadcast against ``y0``: the leading dimensions where α does not
  vary become one batch dimension Q and the rest the per-element "features" F, so the state is
  handled as ``[Q, *F]`` with α of shape F.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import broadcasts_onto, check_alpha, check_alpha_list, check_tensor
from ..order import FractionalOrder

__all__ = ["uniform_step", "GivenOrder", "Layout", "order_and_layout"]


#: Steps of a uniform grid may differ from h by this many ulps of max|t| (its own rounding).
GRID_ROUNDING = 2


def uniform_step(t: object, name: str = "t") -> float:
    """Check the time grid and return its step h (0.0 for a single point)."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a 1-D torch.Tensor of times, got {type(t).__name__}")
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D tensor of times, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        t = t.to(torch.float64)
    times = t.detach().to(torch.float64)
    if not torch.isfinite(times).all():
        raise ValueError(f"{name} must hold finite times")
    if times.numel() == 1:
        return 0.0
    steps = times.diff()
    if not bool((steps > 0).all()):
        first = int((steps <= 0).nonzero()[0]) + 1
        raise ValueError(f"{name} must be strictly increasing (got a step <= 0 at index {first})")
    h = float((times[-1] - times[0]) / (times.numel() - 1))
    # Rounding t itself (two roundings per point in arange(n)*step + start) moves a step by at most
    # 2 ulps of max|t| (measured: ≤ 1.44 for linspace/arange grids in float16, bfloat16, float32 and
    # float64); anything larger is a non-uniform grid, which fixed-step weights would get wrong.
    largest = float(times.abs().max())
    ulp = torch.finfo(t.dtype).eps * 2.0 ** math.floor(math.log2(largest))
    slack = GRID_ROUNDING * ulp + 1e-12 * h
    if float((steps - h).abs().max()) > slack:
        raise ValueError(
            f"{name} must be a uniform grid (steps from {float(steps.min()):.6g} to {float(steps.max()):.6g}); "
            "the fractional schemes use weights for one fixed step h"
        )
    return h


class GivenOrder(FractionalOrder):
    """A :class:`FractionalOrder` whose α ``[M, *A]`` and coefficients ``[M]`` are the caller's
    tensors (differentiable when they require grad) instead of module parameters."""

    def __init__(self, alphas: torch.Tensor, coefficients: torch.Tensor | None, step_size: float) -> None:
        learnable = alphas.requires_grad or (coefficients is not None and coefficients.requires_grad)
        values = alphas.detach()
        single = values.shape[0] == 1 and coefficients is None  # else a term list, [M]
        super().__init__(
            values[0] if single else values.tolist(),
            None if coefficients is None else coefficients.detach(),
            learn_alpha=learnable,
            step_size=step_size,
        )
        self._alphas = alphas
        self._coefficients = coefficients

    def alphas(self) -> torch.Tensor:
        return self._alphas

    def coefficients(self) -> torch.Tensor | None:
        return self._coefficients


class Layout:
    """Reshapes between the caller's state shape and the ``[Q, *F]`` shape of a per-element α."""

    def __init__(self, shape: torch.Size, inner: tuple[int, ...] | None = None) -> None:
        self.shape = shape
        self.inner = tuple(shape) if inner is None else inner

    def to_inner(self, y: torch.Tensor) -> torch.Tensor:
        return y.reshape(self.inner)

    def to_outer(self, y: torch.Tensor) -> torch.Tensor:
        return y.reshape(self.shape)


def _as_float64(value: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(device=like.device, dtype=torch.float64)
    return torch.tensor(float(value), dtype=torch.float64, device=like.device)


def order_and_layout(
    alpha: float | torch.Tensor | Sequence[float | torch.Tensor],
    coefficients: Sequence[float] | torch.Tensor | None,
    y0: torch.Tensor,
    step_size: float,
) -> tuple[GivenOrder, Layout]:
    """Validate α (float, tensor broadcastable to ``y0``, or a multi-term list) and build the order."""
    if isinstance(alpha, (list, tuple)):  # multi-term Σ_i c_i D^{α_i}
        for i, a in enumerate(alpha):
            if isinstance(a, torch.Tensor) and a.numel() != 1:
                raise ValueError(f"alpha[{i}] of a multi-term alpha must be a scalar, got shape {tuple(a.shape)}")
        values = [float(a.detach()) if isinstance(a, torch.Tensor) else float(a) for a in alpha]
        check_alpha_list(values, None if coefficients is None else _coefficient_list(coefficients))
        alphas = torch.stack([_as_float64(a, y0).reshape(()) for a in alpha])
        coefs = None
        if coefficients is not None:
            coefs = _as_float64(coefficients, y0) if isinstance(coefficients, torch.Tensor) else torch.tensor(
                [float(c) for c in coefficients], dtype=torch.float64, device=y0.device
            )
        return GivenOrder(alphas, coefs, step_size), Layout(y0.shape)

    if coefficients is not None:
        raise ValueError("options['coefficients'] is for a multi-term alpha given as a list of orders")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, torch.Tensor)):
        raise TypeError(f"alpha must be a float, a tensor or a list of floats, got {type(alpha).__name__}")
    check_alpha(alpha)
    a = _as_float64(alpha, y0)
    if a.numel() == 1:
        return GivenOrder(a.reshape(1), None, step_size), Layout(y0.shape)
    if not broadcasts_onto(a.shape, y0.shape):
        raise ValueError(
            f"a tensor alpha must broadcast onto y0 without enlarging it (one order per element): "
            f"alpha has shape {tuple(a.shape)}, y0 has shape {tuple(y0.shape)}"
        )
    aligned = a.reshape((1,) * (y0.dim() - a.dim()) + tuple(a.shape))
    lead = 0
    while lead < y0.dim() and aligned.shape[lead] == 1:
        lead += 1
    features = tuple(y0.shape[lead:])
    per_feature = aligned.expand(y0.shape)[(0,) * lead]  # shape F
    inner = (math.prod(y0.shape[:lead]), *features)
    return GivenOrder(per_feature.unsqueeze(0), None, step_size), Layout(y0.shape, inner)


def _coefficient_list(coefficients: Sequence[float] | torch.Tensor) -> list[float]:
    if isinstance(coefficients, torch.Tensor):
        check_tensor(coefficients, "options['coefficients']")
        return [float(c) for c in coefficients.detach().flatten()]
    return [float(c) for c in coefficients]
