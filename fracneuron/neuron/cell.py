r"""A native IF/LIF neuron as the cell of the fused sequence kernel (:mod:`fracneuron.functional.sequence`).

The cell is what the kernel needs of a neuron besides its memory: the charge, fire and reset of
:class:`~fracneuron.neuron.base.BaseNeuron` and their derivatives for the hand-written backward.
With grid step h, time constant τ, rest level v0 (``neuron.v_rest``) and f the model's dv/dt:

    LIF:  f = (x − (v − v0))/τ      Δ = h·f      ∂C/∂x = h/τ,   ∂C/∂v = 1 − h/τ
    IF:   f = x/τ                   Δ = h·f      ∂C/∂x = h/τ,   ∂C/∂v = 1
    learned τ = τ0·e^φ:             ∂C/∂φ = −h·f

with C = v + Δ the charged potential. The kernel takes Δ from :meth:`NeuronCell.increment` and
passes it to :func:`~fracneuron.functional.fractional_potential` as ``increment=``, as the stepped
neuron does (H = v + s·Δ + c: recomputing Δ as C − v would round differently), so the forward is
bit for bit the stepped one.

    soft reset R = H − θS:           ∂R/∂H = 1,      ∂R/∂S = −θ
    hard reset R = S v_r + (1 − S)H: ∂R/∂H = 1 − S,  ∂R/∂S = v_r − H      (∂R/∂S = 0 with ``detach_reset``)

σ'(z) is the neuron's surrogate derivative (``neuron.surrogate_f.derivative``). Shapes: x, v, H, S
are ``[B, *features]`` per step, or ``[T, B, *features]`` where the kernel passes whole sequences.
"""

from __future__ import annotations

import torch

from ..surrogate import heaviside

__all__ = ["NeuronCell"]


class NeuronCell:
    """Charge, fire and reset of a native IF/LIF ``neuron`` (one fused call: τ is read once)."""

    def __init__(self, neuron) -> None:
        self.neuron = neuron
        self.threshold = neuron.threshold
        soft = neuron.spk_reset == "soft" and isinstance(neuron.threshold, (int, float))
        self.soft_threshold = float(neuron.threshold) if soft else None
        #: H − θ follows bit for bit from the post-reset state (:meth:`fire_input`): the fused
        #: kernel then keeps no H for the backward
        self.recovers_fire_input = soft
        self.step = neuron.step_size
        self.rest = neuron.v_rest
        self.leaky = type(neuron).fused_leak
        tau = neuron.get_tau()
        learned = isinstance(tau, torch.Tensor)
        self.tau = tau.detach() if learned else tau
        tau_param = neuron.tau_param
        self.params: tuple = (tau_param,) if learned and torch.is_grad_enabled() and tau_param.requires_grad else ()

    # ------------------------------------------------------------------ forward
    def rhs(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """f(v, x): the operations of the model's ``dv_dt`` (a subtraction of 0.0 changes no value)."""
        if not self.leaky:
            return x / self.tau
        leak = v - self.rest if self.rest != 0.0 else v
        return (x - leak) / self.tau

    def increment(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Δ = h·f(v, x), as the stepped neuron computes it (× 1.0 changes no value)."""
        f = self.rhs(x, v)
        return self.step * f if self.step != 1.0 else f

    def charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return v + self.increment(x, v)

    def fire(self, z: torch.Tensor) -> torch.Tensor:
        """Θ(z) in z's dtype: the spike function's forward, without its autograd node."""
        return heaviside(z)

    def fire_into(self, z: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """:meth:`fire` written into ``out`` (a step's row of the sequence's spikes)."""
        return heaviside(z, out)

    def reset(self, H: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        """The neuron's reset; a soft one as H − θ·S in one pass (S is 0 or 1, so θ·S is exact
        and the values are the neuron's ``H − S·θ`` bit for bit, one op fewer per step)."""
        if self.soft_threshold is not None:
            return torch.sub(H, S, alpha=self.soft_threshold)
        return self.neuron.reset_potential(H, S)

    # ----------------------------------------------------------------- backward
    def fire_input(self, v_next: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        """H − θ of steps whose post-reset states are ``v_next`` and spikes ``S``, bit for bit, for
        a soft reset: V = H − θ·S is the forward's H − θ itself where S = 1 and H where S = 0, so
        H − θ = V − θ·(1 − S) (θ·(1 − S) is exact: the same single rounding; two plain passes, a
        ``where`` over a bool mask costs several times as much)."""
        return torch.sub(v_next, 1.0 - S, alpha=self.threshold)

    def fire_slope(self, z: torch.Tensor) -> torch.Tensor:
        spike_function = self.neuron.surrogate_f
        return spike_function.derivative(z, spike_function.scale)

    def reset_partials(self, H: torch.Tensor, S: torch.Tensor) -> tuple:
        neuron = self.neuron
        if neuron.spk_reset == "soft":
            return 1.0, None if neuron.detach_reset else -neuron.threshold
        return 1.0 - S, None if neuron.detach_reset else neuron.v_reset - H

    def charge_partials(self) -> tuple:
        rate = self.step / self.tau
        return rate, (1.0 - rate) if self.leaky else 1.0

    def param_grads(self, x_seq: torch.Tensor, v_prev: torch.Tensor, grad_charged: torch.Tensor) -> list:
        """The learned τ's: ∂L/∂φ = −h Σ_n ⟨ḡC_n, f_n⟩ (summed in float64, as the lean step does)."""
        tau_param = self.neuron.tau_param
        total = (grad_charged * self.rhs(x_seq, v_prev)).sum(dtype=torch.float64)
        return [(-self.step * total).to(tau_param.dtype).reshape(tau_param.shape)]
