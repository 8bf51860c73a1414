"""The native neuron models: each is its membrane equation D^α v = f(v, x).

IF and LIF declare themselves fit for the fused multi-step path (:mod:`.fused`): their dv/dt is
linear in v and x, so its backward can be written out.
"""

from __future__ import annotations

import math

import torch

from .._checks import check_finite, check_positive
from .base import BaseNeuron

__all__ = ["IFNeuron", "LIFNeuron", "ALIFNeuron"]


class IFNeuron(BaseNeuron):
    r"""Integrate-and-fire: τ D^α v = x  (spikeDE's form; with τ = 1 and α = 1 SpikingJelly's
    ``IFNode``: H = v + x)."""

    def dv_dt(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x / self.get_tau()

    fused_dv_dt = dv_dt


class LIFNeuron(BaseNeuron):
    r"""Leaky integrate-and-fire: τ D^α v = −(v − v0) + x, v0 the rest level.

    At α = 1, h = 1: H = v + (x − (v − v0))/τ, SpikingJelly's ``LIFNode(decay_input=True)``.
    """

    def dv_dt(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (x - (v - self.v_rest)) / self.get_tau()

    fused_dv_dt = dv_dt
    fused_leak = True


class ALIFNeuron(LIFNeuron):
    r"""LIF membrane with an adaptive threshold (PySNN's ``AdaptiveLIF``, Bellec's ALIF).

        θ_n = θ + β a_{n-1},       a_n = ρ a_{n-1} + S_n,       ρ = exp(−h/τ_a)

    every spike raises the threshold by β; the raise decays with time constant τ_a (in steps of
    h = 1 units). The membrane is fractional, the adaptation Markovian. A soft reset subtracts the
    threshold the neuron fired at.

    Extra args: ``tau_adapt`` (τ_a > 0, default 20), ``adapt_strength`` (β ≥ 0, default 0.2).
    """

    def __init__(self, *args, tau_adapt: float = 20.0, adapt_strength: float = 0.2, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_positive(tau_adapt, "tau_adapt")
        if not 0 <= check_finite(adapt_strength, "adapt_strength"):
            raise ValueError(f"adapt_strength must be >= 0, got {adapt_strength}")
        self.tau_adapt = float(tau_adapt)
        self.adapt_strength = float(adapt_strength)
        self.a: torch.Tensor | None = None

    def firing_threshold(self) -> torch.Tensor | float:
        if self.a is None:
            return self.threshold
        return self.threshold + self.adapt_strength * self.a

    def single_step(self, x: torch.Tensor) -> torch.Tensor:
        if self.a is None:
            self.a = torch.zeros_like(x)
        spike = super().single_step(x)
        self.a = math.exp(-self.step_size / self.tau_adapt) * self.a + spike
        return spike

    def reset(self) -> None:
        super().reset()
        self.a = None

    def detach(self) -> None:
        super().detach()
        if self.a is not None:
            self.a = self.a.detach()

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        if self.a is not None:
            self.a = fn(self.a)
        return self

    def extra_repr(self) -> str:
        return super().extra_repr() + f", tau_adapt={self.tau_adapt:g}, adapt_strength={self.adapt_strength:g}"
