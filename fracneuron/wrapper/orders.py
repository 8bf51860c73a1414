"""spikeDE's α configuration for ``SNNWrapper``: which order (and coefficients) each neuron layer
gets from ``alpha`` / ``multi_coefficient`` / ``alpha_mode``, and spikeDE's name for the case.

* ``alpha=0.6``: every layer (case ``"A_scalar"``);
* a flat list: per-layer single orders (``"A"``) or one multi-term order for every layer
  (``"B"``), as ``alpha_mode`` (or, under ``"auto"``, the coefficients and the list's length) says;
* a nested list: layer by layer, lists being multi-term (``"C"``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch

from .._checks import check_choice

__all__ = ["layer_orders", "alpha_case", "layer_flags", "plain_value", "LayerOrder", "INTEGRATORS", "ALPHA_MODES"]

INTEGRATORS = ("odeint", "odeint_adjoint", "fdeint", "fdeint_adjoint")
ALPHA_MODES = ("auto", "per_layer", "multiterm")

LayerOrder = tuple[float | list[float], list[float] | None]


def plain_value(value):
    """A tensor as the Python number or list spikeDE reads it as."""
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    return value


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple))


def _per_layer_coefficients(coefficients, alphas: list, n_layers: int) -> list:
    if coefficients is None:
        return [None] * n_layers
    if len(coefficients) != n_layers:
        raise ValueError(
            f"a nested multi_coefficient needs one entry per neuron layer ({n_layers}), got {len(coefficients)}"
        )
    out = []
    for a, c in zip(alphas, coefficients):
        c = plain_value(c)
        if isinstance(c, (int, float)) and _is_list(a):
            c = [float(c)] * len(a)
        out.append(c)
    return out


def alpha_case(orders: list[LayerOrder], alpha) -> str:
    """spikeDE's name for a parsed configuration: ``"A_scalar"``, ``"A"``, ``"B"`` or ``"C"``."""
    alpha = plain_value(alpha)
    if isinstance(alpha, (int, float)):
        return "A_scalar"
    if any(_is_list(plain_value(a)) for a in alpha):
        return "C"
    return "B" if any(_is_list(a) for a, _ in orders) else "A"


def layer_orders(alpha, multi_coefficient, n_layers: int, alpha_mode: str = "auto") -> list[LayerOrder]:
    """(alpha, coefficients) of each neuron layer from spikeDE's ``alpha`` / ``multi_coefficient``."""
    check_choice(alpha_mode, ALPHA_MODES, "alpha_mode")
    alpha, coefficients = plain_value(alpha), plain_value(multi_coefficient)
    if isinstance(alpha, (int, float)) and not isinstance(alpha, bool):
        if coefficients is not None:
            raise ValueError("multi_coefficient is for a multi-term alpha (a list of orders)")
        return [(float(alpha), None)] * n_layers
    if not _is_list(alpha):
        raise TypeError(f"alpha must be a float, a list or a tensor, got {type(alpha).__name__}")
    if len(alpha) == 0:
        raise ValueError("alpha must not be an empty list")
    alpha = [plain_value(a) for a in alpha]
    if any(_is_list(a) for a in alpha):  # nested: one entry per layer
        if len(alpha) != n_layers:
            raise ValueError(f"a nested alpha needs one entry per neuron layer ({n_layers}), got {len(alpha)}")
        return list(zip(alpha, _per_layer_coefficients(coefficients, alpha, n_layers)))
    flat_coefficients = coefficients is not None and not any(_is_list(plain_value(c)) for c in coefficients)
    if alpha_mode == "auto":
        if coefficients is not None:
            alpha_mode = "multiterm"
        elif len(alpha) == n_layers:
            warnings.warn(
                f"alpha has one entry per neuron layer ({n_layers}): read as per-layer orders; pass "
                "alpha_mode='multiterm' for a multi-term order in every layer",
                UserWarning,
                stacklevel=3,
            )
            alpha_mode = "per_layer"
        else:
            warnings.warn(
                f"alpha has {len(alpha)} entries for {n_layers} neuron layers: read as a multi-term order "
                "for every layer; pass alpha_mode='multiterm' to say so",
                UserWarning,
                stacklevel=3,
            )
            alpha_mode = "multiterm"
    if alpha_mode == "per_layer":
        if len(alpha) != n_layers:
            raise ValueError(f"alpha_mode='per_layer' needs one alpha per neuron layer ({n_layers}), got {len(alpha)}")
        if coefficients is not None:
            raise ValueError("multi_coefficient is for multi-term orders, not per-layer single orders")
        return [(float(a), None) for a in alpha]
    if flat_coefficients or coefficients is None:
        return [(alpha, None if coefficients is None else list(coefficients))] * n_layers
    return list(zip([alpha] * n_layers, _per_layer_coefficients(coefficients, [alpha] * n_layers, n_layers)))


def layer_flags(value: bool | Sequence[bool], n_layers: int, name: str) -> list[bool]:
    """``learn_alpha``/``learn_coefficient``: one bool for every layer, or one per layer."""
    if isinstance(value, bool):
        return [value] * n_layers
    if not _is_list(value) or len(value) != n_layers or not all(isinstance(v, bool) for v in value):
        raise ValueError(f"{name} must be a bool or a list of {n_layers} bools (one per neuron layer), got {value!r}")
    return list(value)
