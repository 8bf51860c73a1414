"""Argument checks shared by every public entry point.

Each check raises ``ValueError``/``TypeError`` naming the argument, the value received and the
allowed range, so a bad call fails at the door instead of deep inside a torch kernel.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch

__all__ = [
    "check_alpha",
    "check_alpha_list",
    "check_coefficients",
    "check_positive",
    "check_finite",
    "check_choice",
    "check_tensor",
    "refuse_graph_inputs",
    "broadcasts_onto",
]


def _as_floats(value: float | torch.Tensor | Sequence[float]) -> list[float]:
    if isinstance(value, torch.Tensor):
        return [float(v) for v in value.detach().flatten().tolist()]
    if isinstance(value, (int, float)):
        return [float(value)]
    return [float(v) for v in value]


def check_alpha(alpha: float | torch.Tensor, name: str = "alpha") -> None:
    """Raise unless every entry of ``alpha`` lies in (0, 1] (Caputo orders fracneuron supports)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, torch.Tensor)):
        raise TypeError(f"{name} must be a float or a tensor in (0, 1], got {type(alpha).__name__}")
    for a in _as_floats(alpha):
        if not (0.0 < a <= 1.0) or math.isnan(a):
            raise ValueError(f"{name} must be in (0, 1], got {a}")


def check_alpha_list(
    alpha: float | torch.Tensor | Sequence[float], coefficients: Sequence[float] | torch.Tensor | None
) -> tuple[list[float] | torch.Tensor, list[float] | None]:
    """Validate a single order or a multi-term list with its coefficients.

    Returns ``(alphas, coefficients)`` where ``alphas`` is a list of floats for a multi-term order
    (or for a scalar) and a tensor for a per-neuron order.
    """
    if isinstance(alpha, torch.Tensor):
        if alpha.numel() == 0:
            raise ValueError("alpha must hold at least one order in (0, 1], got an empty tensor")
        check_alpha(alpha)
        if coefficients is not None:
            raise ValueError(
                "coefficients are for a multi-term alpha given as a list; "
                f"got a tensor alpha of shape {tuple(alpha.shape)} with coefficients"
            )
        return alpha, None
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        check_alpha(float(alpha))
        return [float(alpha)], (None if coefficients is None else check_coefficients(coefficients, 1))
    if not isinstance(alpha, Iterable) or isinstance(alpha, (str, bytes)):
        raise TypeError(f"alpha must be a float, a list of floats or a tensor, got {type(alpha).__name__}")
    alphas = _as_floats(alpha)
    if not alphas:
        raise ValueError("alpha must not be an empty list")
    for i, a in enumerate(alphas):
        check_alpha(a, name=f"alpha[{i}]")
    if coefficients is None:
        return alphas, None
    return alphas, check_coefficients(coefficients, len(alphas))


def check_coefficients(coefficients: float | Sequence[float] | torch.Tensor, terms: int) -> list[float]:
    """Raise unless ``coefficients`` holds one finite c_i > 0 per term of Σ_i c_i D^{α_i}; return
    them as floats.

    A zero, negative, NaN or infinite c_i has no meaning in the equation and would turn the
    normalised weights (divided by Σ_i c_i h^{-α_i}) into NaN or flip their sign: refused for a
    single α exactly as for a list.
    """
    try:
        values = _as_floats(coefficients)
    except (TypeError, ValueError):
        raise TypeError(
            f"coefficients must be a list or tensor of numbers > 0, got {type(coefficients).__name__}"
        ) from None
    if len(values) != terms:
        raise ValueError(f"coefficients must have one entry per alpha term ({terms}), got {len(values)}")
    for i, c in enumerate(values):
        if not 0.0 < c < math.inf:  # NaN fails too
            raise ValueError(f"coefficients[{i}] must be > 0 and finite, in (0, inf), got {c}")
    return values


def check_positive(value: float | torch.Tensor, name: str) -> None:
    """Raise unless ``value`` (every entry of it) is a finite number > 0."""
    for v in _as_floats(value):
        if not (v > 0.0) or math.isinf(v):
            raise ValueError(f"{name} must be > 0, got {v}")


def check_finite(value: float, name: str) -> float:
    """Raise unless ``value`` is a real number that is neither NaN nor infinite; return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    return float(value)


def check_choice(value: str, choices: Iterable[str], name: str) -> str:
    """Raise unless ``value`` is one of ``choices``; the message lists them."""
    options = sorted(choices)
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(map(repr, options))}")
    return value


def check_tensor(value: object, name: str) -> torch.Tensor:
    """Raise ``TypeError`` unless ``value`` is a floating-point tensor."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    return value


def refuse_graph_inputs(value, name: str, flag: str) -> None:
    """A module owns its α and coefficients (parameters or buffers): a tensor that requires grad
    would silently stop receiving gradients there, so it is refused with the way to train it."""
    items = value if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, torch.Tensor) and v.requires_grad for v in items):
        raise ValueError(
            f"{name} is a tensor that requires grad, but a fractional module keeps its own {name}: pass "
            f"{flag}=True to train it (the tensor's values are the start), or pass {name}.detach()"
        )


def broadcasts_onto(shape: Sequence[int], target: Sequence[int]) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without enlarging it: no more dimensions, and
    each trailing size 1 or ``target``'s. (Written out: ``torch.broadcast_shapes`` loads torch's
    symbolic-shape machinery, sympy included, about 30 MB and a second, on its first call.)"""
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(tuple(shape)), reversed(tuple(target))))
