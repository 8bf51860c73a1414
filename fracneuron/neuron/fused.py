r"""Fused multi-step path: a whole ``[T, B, ...]`` sequence of a linear spiking neuron with ``soe``
memory in one autograd node, its backward written out by hand.

The neurons of :mod:`fracneuron.neuron` step charge → fire → reset (u_j = v_j − v_0, the history
measured from the sequence's first state; a = s·h/τ)

    H_n = v_{n-1} + s·h·f(v_{n-1}, x_n) + c_n,       c_n = Σ_{k≥1} ρ_k u_{n-k}
    S_n = Θ(H_n − θ),                                 v_n = R(H_n, S_n)

with f = (x − (v − v_rest))/τ (LIF) or x/τ (IF), so ∂H_n/∂x_n = a and ∂H_n/∂v_{n-1} = 1 − a (LIF) or 1 (IF)
besides the memory. Recorded step by step, every step costs a dozen autograd nodes and the
backward walks them one at a time. Here the forward runs without a graph (the soe engine itself
advances, so the module's state is the same as after stepping) and keeps H only; the backward runs
the adjoint recurrence from n = T down to 1:

    ḡv_n = ḡv_n^{direct} + Σ_{k≥1} ρ_k ḡH_{n+k}            (the memory: v_n enters every later c)
    ḡH_n = ḡv_n ∂R/∂H + (ḡS_n + ḡv_n ∂R/∂S) σ'(H_n − θ)
    ḡx_n = a ḡH_n,      ḡv_{n-1}^{direct} = (1 − a) ḡH_n  (LIF)  or  ḡH_n  (IF)

The memory term Σ_k ρ_k ḡH_{n+k} is the same causal convolution run backward in time, so a second
:class:`~fracneuron.functional.exponential_modes.ModeConvolution` with the same kernel, fed ḡH_T, ḡH_{T−1}, …,
computes it in O(K) per neuron and step. Soft reset R = H − θS: ∂R/∂H = 1, ∂R/∂S = −θ; hard reset
R = S v_r + (1 − S) H: ∂R/∂H = 1 − S, ∂R/∂S = v_r − H (the ∂R/∂S term is dropped with
``detach_reset``). When the call starts the sequence, v_0 is also the anchor of every u_j, which
adds −Σ_{j≥1} (Σ_k ρ_k ḡH_{j+k}) to ∂L/∂v_0. A learnable τ = τ_0 e^φ adds ∂L/∂φ = −s·h Σ_n ⟨ḡH_n, f_n⟩.

Gradients are those of the stepped neuron (the same formulas, in another order: equal to
rounding). The path applies to a neuron whose past carries no autograd graph (a new sequence, or
after ``detach()``) with a fixed order (α not trained); anything else is stepped.
"""

from __future__ import annotations

import torch

from ..functional.step import fractional_potential
from ..memory.soe import SoeMemory
from ..surrogate import SpikeFunction

__all__ = ["fused_sequence", "can_fuse", "fits_fast_path"]


def fits_fast_path(neuron, stepping: type) -> bool:
    """What the fused sequence and the lean single step both need of ``neuron``: an IF/LIF model
    (``fused_dv_dt``) with ``stepping``'s own charge → fire → reset, a spike function whose
    derivative is known, no refractoriness or trace (those are stepped), a fractional order
    (α = 1 stays the native step, untouched), and the option not turned off."""
    return (
        getattr(neuron, "fused_multi_step", True)  # modules pickled before the option existed
        and _model_fits(type(neuron), stepping)
        and isinstance(neuron.surrogate_f, SpikeFunction)
        and not getattr(neuron, "refractory", 0)
        and getattr(neuron, "trace_tau", None) is None
        and not neuron.memory.is_markovian
    )


def _model_fits(cls: type, stepping: type) -> bool:
    """IF/LIF's dv/dt (not a subclass's own) and ``stepping``'s own charge → fire → reset (not,
    say, ALIF's threshold). Not cached: a few attribute reads, and torch.compile traces it."""
    return cls.dv_dt is getattr(cls, "fused_dv_dt", None) and all(
        getattr(cls, name) is getattr(stepping, name) for name in _STEP_METHODS
    )


def can_fuse(neuron, x_seq: torch.Tensor, stepping: type) -> bool:
    """Whether ``neuron`` can run ``x_seq`` on the fused path: :func:`fits_fast_path`, ``soe``
    memory with a fixed order, and a past without an autograd graph."""
    memory = neuron.memory
    engine = memory.engine
    return (
        fits_fast_path(neuron, stepping)
        and isinstance(engine, SoeMemory)
        and not (torch.is_grad_enabled() and any(p.requires_grad for p in memory.parameters()))
        and not engine.has_graph
        and x_seq.is_floating_point()
        and x_seq.shape[0] > 0
    )


_STEP_METHODS = ("single_step", "fire", "reset_potential", "firing_threshold", "initial_potential", "_potential_for")


def fused_sequence(neuron, x_seq: torch.Tensor) -> torch.Tensor:
    """Spikes ``[T, B, *features]`` of ``neuron`` driven by ``x_seq``; sets ``neuron.v`` to v_T."""
    v_init = neuron._potential_for(x_seq[0])
    order = neuron.memory.order
    if order.per_neuron and not order.is_materialized:
        order.materialize(v_init.shape[1:])  # the increment scale is read before the first step
    tau_param = neuron.tau_param if neuron.tau_learnable else None
    engine = neuron.memory.engine
    recording = torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in (x_seq, v_init, tau_param)
    )
    engine.continue_graph(recording)
    spikes, neuron.v = _FusedSequence.apply(x_seq, v_init, tau_param, neuron)
    engine.graph_cut = recording
    return spikes


class _FusedSequence(torch.autograd.Function):
    """(x_seq [T, B, ...], v_init [B, ...], tau_param or None, neuron) -> (spikes, v_T)."""

    @staticmethod
    def forward(ctx, x_seq, v_init, tau_param, neuron):
        memory, rest, theta, h = neuron.memory, neuron.v_rest, neuron.threshold, neuron.step_size
        leaky = _is_leaky(neuron)
        tau = neuron.get_tau()
        scale = memory.increment_scale(x_seq)
        pre_spike = torch.empty_like(x_seq)
        spikes = torch.empty_like(x_seq)
        v = v_init
        with torch.no_grad():
            if isinstance(tau, torch.Tensor):
                tau = tau.detach()
            # the very operations of BaseNeuron.single_step, so the forward is bit for bit the stepped one
            # (skipping a subtraction of 0.0 or a product with 1.0 changes no value)
            anchored = memory.steps == 0  # this sequence starts here: v_init is its anchor
            for n, x in enumerate(x_seq):
                u = v - rest if rest != 0.0 else v
                correction = memory(v)
                rhs = (x - u) / tau if leaky else x / tau
                increment = h * rhs if h != 1.0 else rhs
                H = pre_spike[n]
                H.copy_(fractional_potential(v, correction, scale, increment=increment))
                S = spikes[n]
                torch.ge(H - theta, 0, out=S)  # Θ(H − θ) in x's dtype, as surrogate.heaviside
                v = neuron.reset_potential(H, S)
        ctx.neuron, ctx.tau, ctx.scale, ctx.leaky, ctx.anchored = neuron, tau, scale, leaky, anchored
        ctx.conv = memory.engine.convolution  # its kernel, for the backward
        ctx.save_for_backward(x_seq, v_init, pre_spike, spikes)
        return spikes, v

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spikes, grad_v_last):
        x_seq, v_init, pre_spike, spikes = ctx.saved_tensors
        neuron, tau = ctx.neuron, ctx.tau
        scale = 1.0 if ctx.scale is None else ctx.scale
        h = neuron.step_size
        gain = scale * h / tau  # a = ∂H/∂x
        need_tau = ctx.needs_input_grad[2]
        adjoint = ctx.conv.fresh()  # ρ applied backward in time (fresh: a graph may be run twice)

        # ḡH_n = ḡS_n σ'_n + P_n ḡv_n with P_n = ∂R/∂H + ∂R/∂S σ'_n: all but ḡv_n is known up front,
        # so it is computed for CHUNK steps at a time (few large ops on data that stays in cache;
        # whole-sequence temporaries would cost page faults) and the time loop keeps one op per
        # step besides the memory.
        T = x_seq.shape[0]
        grad_x = torch.empty_like(x_seq)
        grad_v = grad_v_last if grad_v_last is not None else torch.zeros_like(v_init)
        keep = (1.0 - gain) if ctx.leaky else None  # ∂H_{n+1}/∂v_n besides the memory (IF: 1)
        grad_tau = torch.zeros((), dtype=torch.float64, device=x_seq.device) if need_tau else None
        grad_H = None
        # The sequence's anchor a = v_init enters every u_j = v_j − a: ∂L/∂a = −Σ_j ḡu_j (j ≥ 1;
        # at j = 0 the terms of u_0 = v_init − a cancel).
        anchor_grad = torch.zeros_like(v_init) if ctx.anchored and ctx.needs_input_grad[1] else None
        for hi in range(T, 0, -CHUNK):
            lo = max(0, hi - CHUNK)
            grad_chunk, through = _chunk_terms(neuron, pre_spike[lo:hi], spikes[lo:hi], grad_spikes[lo:hi])
            for i in range(hi - lo - 1, -1, -1):
                if grad_H is not None:
                    grad_v = _potential_grad(adjoint, grad_H, keep, anchor_grad)
                grad_H = grad_chunk[i]
                if through is None:
                    grad_H.add_(grad_v)
                else:
                    grad_H.addcmul_(grad_v, through[i])
            if need_tau:  # ∂H_n/∂φ = −s·h·f_n for τ = τ_0 e^φ, f_n from v_{n-1} = R(H_{n-1}, S_{n-1})
                v_prev = v_init.unsqueeze(0) if lo == 0 else neuron.reset_potential(pre_spike[lo - 1 : lo], spikes[lo - 1 : lo])
                if hi - lo > 1:
                    v_prev = torch.cat([v_prev, neuron.reset_potential(pre_spike[lo : hi - 1], spikes[lo : hi - 1])])
                f = neuron.dv_dt(v_prev, x_seq[lo:hi])
                grad_tau -= (grad_chunk * (f * scale * h)).sum(dtype=torch.float64)
            torch.mul(grad_chunk, gain, out=grad_x[lo:hi])
        grad_v_init = None
        if ctx.needs_input_grad[1] and anchor_grad is not None:
            grad_v_init = (grad_H if keep is None else grad_H * keep) - anchor_grad
        elif ctx.needs_input_grad[1]:
            grad_v_init = _potential_grad(adjoint, grad_H, keep, None)
        grad_tau_param = grad_tau.to(neuron.tau_param.dtype) if need_tau else None
        return grad_x if ctx.needs_input_grad[0] else None, grad_v_init, grad_tau_param, None


def _potential_grad(adjoint, grad_H: torch.Tensor, keep, anchor_grad: torch.Tensor | None) -> torch.Tensor:
    """ḡv_n from ḡH_{n+1}: v_n feeds H_{n+1} directly (∂ = ``keep``, ``None`` for 1) and every
    later c through u_n (the memory's adjoint ḡu_n, fed ḡH_T … ḡH_{n+2} before), which
    ``anchor_grad`` (when given) collects with the opposite sign."""
    grad_v = adjoint.forward_step(grad_H).reshape(grad_H.shape)
    if anchor_grad is not None:
        anchor_grad.add_(grad_v)
    return grad_v.add_(grad_H if keep is None else grad_H * keep)


CHUNK = 16  # steps whose surrogate terms are computed together in the backward


def _chunk_terms(neuron, pre_spike, spikes, grad_spikes):
    """(ḡS σ', P) for a chunk of steps, P = ∂R/∂H + ∂R/∂S σ' (``None`` when P = 1)."""
    theta = neuron.threshold
    surrogate = neuron.surrogate_f.derivative(pre_spike - theta, neuron.surrogate_f.scale)
    grad = grad_spikes * surrogate
    if neuron.spk_reset == "soft":
        through = None if neuron.detach_reset else surrogate.mul_(-theta).add_(1.0)
    else:
        through = 1.0 - spikes
        if not neuron.detach_reset:
            through += surrogate.mul_(neuron.v_reset - pre_spike)
    return grad, through


def _is_leaky(neuron) -> bool:
    return type(neuron).fused_leak
