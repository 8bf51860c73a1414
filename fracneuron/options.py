"""The fractional options of a neuron, in one place: what every constructor takes and checks.

A native neuron, a SpikingJelly node, an snnTorch neuron, ``fractionalize`` and ``SNNWrapper``
all describe the fractional part of a neuron with the same fields and spell them the same way;
:class:`FractionalOptions` holds them, :meth:`FractionalOptions.validate` checks them once (every
message names the argument and what it allows), and
:meth:`fracneuron.memory.FractionalMemory.from_options` builds the memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import torch

from ._checks import check_alpha_list, refuse_graph_inputs
from .memory.engine import engine_for

__all__ = ["FractionalOptions"]


def _check_flag(value, name: str) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")


@dataclass
class FractionalOptions:
    """The fractional configuration of a neuron (or of every neuron ``fractionalize`` swaps).

    Attributes:
        alpha: the order, a float in (0, 1]; a list of floats for a multi-term derivative
            Σ_i c_i D^{α_i}; or a tensor of per-neuron orders. 1.0 (fixed) is the native neuron.
        memory: the history engine, by name (``"exact"``, ``"window"``, ``"soe"``, a plugin's) or
            as an engine instance.
        learn_alpha: train α (kept in (0, 1]).
        coefficients: one c_i > 0 per term of a list ``alpha``.
        learn_coefficients: train the coefficients (kept > 0).
        per_neuron: one α per neuron, shaped by the first input.
        memory_options: keyword arguments of the engine (``{"window": 32}``).
    """

    alpha: Any = 1.0
    memory: Any = "exact"
    learn_alpha: bool = False
    coefficients: Sequence[float] | torch.Tensor | None = None
    learn_coefficients: bool = False
    per_neuron: bool = False
    memory_options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # None means no options; a dict is copied so that the caller's stays as it was
        if self.memory_options is None:
            self.memory_options = {}
        elif isinstance(self.memory_options, dict):
            self.memory_options = dict(self.memory_options)

    def validate(self) -> "FractionalOptions":
        """Raise ``ValueError``/``TypeError`` naming the first bad option; return ``self``."""
        refuse_graph_inputs(self.alpha, "alpha", "learn_alpha")
        refuse_graph_inputs(self.coefficients, "coefficients", "learn_coefficients")
        alphas, _ = check_alpha_list(self.alpha, self.coefficients)
        for name in ("learn_alpha", "learn_coefficients", "per_neuron"):
            _check_flag(getattr(self, name), name)
        if self.per_neuron and isinstance(alphas, torch.Tensor) and alphas.dim() > 0:
            raise ValueError("per_neuron=True takes a float or list alpha, not a per-neuron tensor")
        if not isinstance(self.memory_options, dict):
            raise TypeError(f"memory_options must be a dict of engine options, got {type(self.memory_options).__name__}")
        engine_for(self.memory, self.memory_options)  # the engine checks its own options
        return self

    def memory_kwargs(self) -> dict:
        """Keyword arguments of :class:`~fracneuron.memory.FractionalMemory`."""
        return {
            "alpha": self.alpha,
            "memory": self.memory,
            "coefficients": self.coefficients,
            "learn_alpha": self.learn_alpha,
            "learn_coefficients": self.learn_coefficients,
            "per_neuron": self.per_neuron,
            "memory_options": dict(self.memory_options),
        }

    @classmethod
    def take(cls, kwargs: dict, **renamed: str) -> "FractionalOptions":
        """Pop the options out of a constructor's ``kwargs`` (the rest belongs to the native
        class); ``renamed`` maps an option to the keyword a class spells it with (snnTorch's
        Synaptic takes ``frac_alpha``, its ``alpha`` being the synaptic decay)."""
        found = {}
        for option in fields(cls):
            keyword = renamed.get(option.name, option.name)
            if keyword in kwargs:
                found[option.name] = kwargs.pop(keyword)
        return cls(**found)
