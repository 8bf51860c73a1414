r"""Lean single step: one LIF/IF charge → fire → reset step as one autograd node.

A stepped neuron (``step_mode="s"``, ``SNNWrapper``'s per-step calls, a multi-step sequence the
fused path cannot take) records a dozen autograd nodes per step for the charge, the spike and the reset, and
the backward walks each of them. When the whole input sequence is not known (the wrapper calls the
network once per step), the step itself is what can be fused: here it runs without a graph — the
neuron's own ``dv_dt``, :func:`~fracneuron.functional.fractional_potential`, ``fire`` and
``reset_potential``, so the values are bit for bit the stepped ones — and one node with a
hand-written backward stands for it. The memory term c_n is computed before, by the memory's
engine (its own autograd node, which carries the gradient into the past and into α).

With a = s·h/τ, f = (x − (v − v_rest))/τ (LIF) or x/τ (IF), step n:

    H = v + s·h·f + c,      S = Θ(H − θ),      v' = R(H, S)

backward, given ḡS and ḡv' (σ' the surrogate derivative at H − θ):

    ḡH = ḡv' ∂R/∂H + (ḡS + ḡv' ∂R/∂S) σ'      (∂R/∂S dropped with ``detach_reset``)
    ḡc = ḡH,   ḡs = Σ ḡH·h·f,   ḡx = a ḡH,   ḡv = (1 − a) ḡH (LIF) or ḡH (IF),
    ḡφ = −Σ ḡH·s·h·f       (learnable τ = τ_0 e^φ)

Soft reset R = H − θS: ∂R/∂H = 1, ∂R/∂S = −θ; hard reset R = S v_r + (1 − S) H: ∂R/∂H = 1 − S,
∂R/∂S = v_r − H. Shapes: x, v, c, H, S are the state's ``[B, *features]``; s a scalar or one per
neuron (broadcast). Gradients equal the stepped neuron's to rounding.
"""

from __future__ import annotations

import torch

from ..functional.step import fractional_potential
from .cell import NeuronCell
from .fused import fits_fast_path

__all__ = ["can_step_lean", "lean_step"]

def can_step_lean(neuron, x: torch.Tensor, stepping: type) -> bool:
    """Whether ``neuron``'s next step from input ``x`` can be one lean node: what the fused path
    asks of the neuron and its input (:func:`~fracneuron.neuron.fused.fits_fast_path`)."""
    return fits_fast_path(neuron, x, stepping)


def lean_step(neuron, x: torch.Tensor) -> torch.Tensor:
    """One step of ``neuron`` (see :func:`can_step_lean`) on ``x`` ``[B, *features]``; returns
    the spikes and sets ``neuron.v``."""
    v = neuron._potential_for(x)
    memory = neuron.memory
    memory.check_step_size(neuron.step_size)
    _, (correction, scale) = memory.take_step(v)
    tau_param = neuron.tau_param if neuron.tau_learnable else None
    spike, neuron.v = _LeanStep.apply(x, v, correction, scale, tau_param, neuron)
    memory.count_charge()
    return spike


class _LeanStep(torch.autograd.Function):
    """(x, v, c, s or None, τ parameter or None, neuron) -> (spike, v')."""

    @staticmethod
    def forward(ctx, x, v, correction, scale, tau_param, neuron):
        h = neuron.memory.order.step_size
        with torch.no_grad():  # the very calls of the stepped neuron: the same values
            f = neuron.dv_dt(v, x)
            increment = h * f if h != 1.0 else f  # × 1.0 changes no value
            H = fractional_potential(v, correction, scale, increment=increment)
            spike = neuron.fire(H)
            v_new = neuron.reset_potential(H, spike)
        ctx.cell, ctx.h = NeuronCell(neuron), h  # the derivatives of charge, fire and reset
        # keep only what the backward reads: f for s's and τ's gradients, S for a hard reset
        keep_f = ctx.needs_input_grad[3] or ctx.needs_input_grad[4]
        keep_spike = neuron.spk_reset == "hard"
        ctx.save_for_backward(H, spike if keep_spike else None, f if keep_f else None, scale)
        return spike, v_new

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spike, grad_v):
        H, spike, f, scale = ctx.saved_tensors
        cell, h = ctx.cell, ctx.h
        slope = cell.fire_slope(H - cell.threshold)
        through_H, through_S = cell.reset_partials(H, spike)
        # ḡH = ḡv' ∂R/∂H + (ḡS + ḡv' ∂R/∂S) σ'
        through = grad_spike if through_S is None else grad_spike + grad_v * through_S
        grad_H = torch.addcmul(grad_v * through_H if isinstance(through_H, torch.Tensor) else grad_v, through, slope)
        s = 1.0 if scale is None else scale
        grad_c = grad_H if ctx.needs_input_grad[2] else None
        grad_scale = None
        if ctx.needs_input_grad[3]:
            grad_scale = (grad_H * (h * f)).sum_to_size(scale.shape)
        dx, dv = cell.charge_partials()
        grad_x = grad_H * (s * dx) if ctx.needs_input_grad[0] else None  # ∂H/∂x = s·h/τ
        grad_v_prev = None
        if ctx.needs_input_grad[1]:  # ∂H/∂v = s ∂C/∂v + 1 − s: 1 − s·h/τ (LIF), 1 (IF)
            grad_v_prev = grad_H * (1.0 - s * dx) if cell.leaky else grad_H
        grad_tau = None
        if ctx.needs_input_grad[4]:  # τ = τ_0 e^φ: ∂f/∂φ = −f
            tau_param = cell.neuron.tau_param
            grad_tau = -(grad_H * (s * h) * f).sum(dtype=torch.float64).to(tau_param.dtype)
        return grad_x, grad_v_prev, grad_c, grad_scale, grad_tau, None
