r"""A whole ``[T, B, ...]`` sequence of a spiking neuron with fractional memory as one autograd node.

A neuron's step (charge → fractional potential → fire → reset), with V_0 = v_init the state the
call starts from and u_j = V_j − a (a: the sequence's anchor):

    C_n = charge(x_n, V_n)                              the framework's own charged potential
    H_n = V_n + s·(C_n − V_n) + c_n,   c_n = Σ_{k≥1} ρ_k u_{n+1-k}     (s = 1: H_n = C_n + c_n)
    S_n = fire(H_n − θ),               V_{n+1} = reset(H_n, S_n)

is recorded step by step with a dozen autograd nodes per step. Here the forward runs without a
graph, with the very operations of the stepped neuron (so spikes and states are bit for bit the
stepped ones, and the memory's running state advances as it would), keeps H and S (or only S,
when the cell recovers H − θ bit for bit from V_{n+1} and S_n and the memory's store keeps the
states: one ``[T, B, ...]`` buffer less), and the backward is the adjoint recurrence from
n = T − 1 down to 0:

    ḡS_n = ḡspike_n + ḡV_{n+1} ∂R/∂S,     ḡH_n = ḡV_{n+1} ∂R/∂H + ḡS_n σ'(H_n − θ)
    ḡu_n = Σ_{k≥1} ρ_k ḡH_{n-1+k}          (the memory, run backward in time: the adjoint)
    ḡV_n = ḡH_n (s ∂C/∂V + 1 − s) + ḡu_n,   ḡx_n = s ∂C/∂x ḡH_n

with ∂R/∂S dropped for a detached reset. The memory term is the same causal convolution fed
ḡH_{T−1}, ḡH_{T−2}, …: the ``history`` object gives a fresh one (``adjoint(ḡH)``), so the exact
engine's blocked products and the soe engine's mode recurrence serve the backward too. When the
call starts the sequence, a = V_0, so ∂L/∂V_0 also gets −Σ_{n≥1} ḡu_n (the u_0 terms cancel).

Parameters: the cell's own (a learned time constant) get Σ_n ⟨s ḡH_n, ∂C_n/∂p⟩ from the cell; the
memory's (learned α, coefficients) get Σ_n ⟨ḡH_n, ∂c_n/∂α + ∂s/∂α (C_n − V_n)⟩, which the
``history`` computes by replaying its kernel's weights with a graph over the known states
(dL/dα = Σ_k ∂L/∂ρ_k ∂ρ_k/∂α).

Protocols (duck-typed; this module imports nothing above ``functional``):

* ``cell``: ``charge(x, v)``; optionally ``increment(x, v)`` = Δ = C − V as the cell's stepped
  neuron computes it (then H = V + s·Δ + c is formed from it: C − V would round differently);
  ``threshold``; ``fire(z)`` (optionally ``fire_into(z, out)``: the same, written into ``out``)
  and ``fire_slope(z)`` = σ'(z); optionally ``recovers_fire_input`` and ``fire_input(V, S)``:
  H − θ of steps from their post-reset states and spikes, bit for bit;
  ``reset(H, S)`` and ``reset_partials(H, S)`` = (∂R/∂H, ∂R/∂S or ``None``);
  ``charge_partials()`` = (∂C/∂x, ∂C/∂V), numbers or tensors independent of x and V;
  ``params`` (tensors) and ``param_grads(x, V, ḡC)`` (their gradients).
* ``history``: ``correction(v)`` (c of the step from v, advancing the running state);
  ``keeps_states()`` (asked after the first step) and ``stored_states()`` (V_0 … V_{T−1}, held
  bit for bit in the memory's store);
  ``scale(like)`` (s or ``None``); ``anchored`` (this call starts the sequence); ``anchor`` (the
  sequence's anchor when it is an input with a graph, else ``None``); ``links`` (the states of the
  earlier fused calls of the sequence, see below); ``adjoint(ḡH)`` (a fresh copy of the kernel with
  ``correction(g)``, fed ḡH_{T−1} … ḡH_0 (ḡH_1 last when the call is anchored: ḡu_0's terms
  cancel), which it may read from the buffer it is given, and
  whose rows below n it may use as its workspace until the scan writes them: the scan writes
  row n − 1 only after it has read ``correction(ḡH_n)``'s result);
  ``params`` (α, coefficients) and ``replay()``: an object with ``inputs`` (the kernel's weights
  over the states ``correction`` was given, or its corrections, with α's graph) and
  ``grads(ḡH, states)`` (their gradients; called before ḡH's buffer becomes ∂L/∂x;
  ``states(lo, hi)`` gives V_lo … V_{hi−1} again, recovered from H and S a few rows at a time, so
  the history need not keep a copy of every state it was given).

Continuing a sequence (chunks without ``detach``, SpikingJelly's memopt checkpointing): each call
also returns its states V_0 … V_{T−1} as one tensor, a *link*, which the running state keeps; a
later call takes the links as inputs, and its backward runs the adjoint on past the call's start
(fed zeros) to give each earlier state its ∂L/∂u_j = Σ_k ρ_k ḡH_{j+k}, so the memory's gradient
reaches every earlier call as the stepped path's would.
"""

from __future__ import annotations

from functools import partial

import torch

from .._checks import broadcasts_onto
from .step import fractional_potential

__all__ = ["fused_sequence"]

#: elements (steps × state size) whose surrogate and reset terms the backward computes together:
#: few ops per step, on temporaries that stay in cache (measured, one thread: a [32, 512] layer's
#: backward is ≈ 1 ms faster in chunks of 2 steps than of 4; 8192-element layers alike either way)
CHUNK_ELEMENTS = 1 << 15


def fused_sequence(cell, history, x_seq: torch.Tensor, v_init: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(spikes ``[T, B, ...]``, V_T, link) of ``cell`` with ``history``'s memory, driven by
    ``x_seq``; the link (V_0 … V_{T−1}, ``[T, B, ...]``) carries the memory's gradient into this
    call when a later call continues the sequence."""
    with torch.no_grad():
        pre_spike, spikes, v_last = _forward_steps(cell, history, x_seq, v_init)
    # without H, the backward reads V_1 … V_{T−1} in the store (a view: its rows are never
    # rewritten) and V_T
    states = history.stored_states() if pre_spike is None else None
    forward = (pre_spike, spikes, v_last, states)
    # the memory's parameters (α): the kernel's weights (or its corrections c_n(α) over the known
    # states), with their graph, are inputs of the sequence's node, whose backward gives them
    # their gradient from ḡH (∂H_n/∂c_n = 1)
    replay = scale = None
    if history.params:
        replay = history.replay()
        scale = history.scale(x_seq)
        scale = scale if scale is not None and scale.requires_grad else None
    links = tuple(history.links)
    kernel = () if replay is None else replay.inputs
    sizes = (len(cell.params), len(links), len(kernel))
    return _Sequence.apply(x_seq, v_init, history.anchor, scale, forward, cell, history, replay, sizes,
                           *links, *kernel, *cell.params)


def _forward_steps(cell, history, x_seq: torch.Tensor, v: torch.Tensor):
    """The stepped neuron's operations, step by step, without a graph: (H, S, V_T)."""
    theta, T = cell.threshold, x_seq.shape[0]
    scale = history.scale(x_seq)  # s depends on the dtype and device only: one per sequence
    pre_spike = spikes = scratch = None
    increment = getattr(cell, "increment", None)
    fire_into = getattr(cell, "fire_into", None)
    for n, x in enumerate(x_seq.unbind(0)):
        # H and S go straight into the sequence's buffers (allocated at the first step, when
        # their shapes and dtypes are known): no per-step tensors to stack afterwards
        into = scratch if pre_spike is None else pre_spike[n]
        if increment is None:
            H = fractional_potential(v, history.correction(v), scale, charged=cell.charge(x, v), out=into)
        else:  # the cell's stepped neuron adds its own increment (C − V would round otherwise)
            H = fractional_potential(v, history.correction(v), scale, increment=increment(x, v), out=into)
        if spikes is None:  # the first step
            S = cell.fire(H - theta)
            spikes = S.new_empty((T, *S.shape))
            spikes[0].copy_(S)
            if getattr(cell, "recovers_fire_input", False) and history.keeps_states():
                scratch = H  # H of one step at a time: the backward recovers H − θ
            else:
                pre_spike = H.new_empty((T, *H.shape))
                H = pre_spike[0].copy_(H)
        elif fire_into is not None:  # Θ straight into the spikes' row
            S = fire_into(H - theta, spikes[n])
        else:
            S = cell.fire(H - theta)
            spikes[n].copy_(S)
        v = cell.reset(H, S)
    return pre_spike, spikes, v


def _states(cell, v_init: torch.Tensor, pre_spike: torch.Tensor | None, spikes: torch.Tensor, stored,
            lo: int = 0, hi: int | None = None) -> torch.Tensor:
    """V_lo … V_{hi−1} (default: V_0 … V_{T−1}): the ``stored`` ones, or from the saved H and S
    (the forward's own reset, so the same values)."""
    hi = spikes.shape[0] if hi is None else hi
    if pre_spike is None:
        return stored[lo:hi]
    with torch.no_grad():
        after = cell.reset(pre_spike[max(lo, 1) - 1 : hi - 1], spikes[max(lo, 1) - 1 : hi - 1])  # V_{n+1} = R(H_n, S_n)
        return torch.cat([v_init.unsqueeze(0), after]) if lo == 0 else after


def _fire_input(cell, pre_spike, stored, v_last, lo: int, hi: int, S: torch.Tensor) -> tuple:
    """(H_n − θ, H_n or ``None``) for n = lo … hi − 1: from the saved H, or recovered from the
    states after the steps, V_{n+1} (the ``stored`` V_1 … V_{T−1}, then V_T), and their spikes."""
    if pre_spike is not None:
        H = pre_spike[lo:hi]
        return H - cell.threshold, H
    after = stored[lo + 1 : hi + 1]
    if hi == stored.shape[0]:
        after = torch.cat([after, v_last.unsqueeze(0)])
    return cell.fire_input(after, S), None


class _Sequence(torch.autograd.Function):
    """(x_seq, v_init, anchor, scale(α), (H or None, S, V_T, stored V_0 … V_{T−1} or None), cell, history, replay (the memory's
    :class:`~fracneuron.memory.sequence.KernelReplay` or ``None``), (n_cell_params, n_links,
    n_kernel), *links, *kernel (the replay's inputs), *cell_params) -> (spikes, V_T, link)."""

    @staticmethod
    def forward(ctx, x_seq, v_init, anchor, scale, forward, cell, history, replay, sizes, *rest):
        pre_spike, spikes, v_last, ctx.stored = forward  # run just before, without a graph
        ctx.set_materialize_grads(False)  # an output the loss does not use (the link) costs nothing
        ctx.cell, ctx.history, ctx.replay, ctx.sizes = cell, history, replay, sizes
        ctx.link_sizes = [link.shape[0] for link in rest[: sizes[1]]]
        first = 9 + sizes[1] + sizes[2]  # the cell's parameters' positions in the inputs
        # x is read again only for the gradients of the cell's parameters and of s(α): otherwise
        # keep an empty tensor of its dtype (s's) instead of holding the whole sequence's input
        reads_x = any(ctx.needs_input_grad[first:]) or ctx.needs_input_grad[3]
        kept = v_last if pre_spike is None else pre_spike  # (V_T: the last step's recovered H − θ)
        ctx.save_for_backward(x_seq if reads_x else x_seq.new_empty(0), v_init, kept, spikes)
        # the link's values are never read (a later call reads the engine's stored past): it only
        # carries the gradient, so it is an expanded zero that costs no memory
        link = spikes.new_zeros(()).expand(spikes.shape)
        return spikes, v_last, link

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spikes, grad_v_last, grad_states):
        x_seq, v_init, kept, spikes = ctx.saved_tensors
        pre_spike, v_last = (kept, None) if ctx.stored is None else (None, kept)
        cell, history = ctx.cell, ctx.history
        n_cell, n_links, n_kernel = ctx.sizes
        scale = history.scale(x_seq)
        scale_value = None if scale is None else scale.detach()
        dx, dv = cell.charge_partials()
        # ∂H_n/∂V_n besides the memory, and ∂H_n/∂x_n
        keep = dv if scale_value is None else scale_value * dv + (1.0 - scale_value)
        gain = dx if scale_value is None else scale_value * dx
        needs = ctx.needs_input_grad
        scan = _AdjointScan(history, keep, ctx.link_sizes, needs[1], needs[2])
        fire_input = partial(_fire_input, cell, pre_spike, ctx.stored, v_last)
        grad_H, grad_v_init = scan.run(cell, fire_input, spikes, grad_spikes, grad_v_last, grad_states)
        first = 9 + n_links + n_kernel  # the cell's parameters' positions in the inputs
        cell_grads = [None] * (len(needs) - first)
        grad_scale = None
        if any(needs[first:]) or needs[3]:
            states = _states(cell, v_init, pre_spike, spikes, ctx.stored)
            if any(needs[first:]):
                grad_charged = grad_H if scale_value is None else grad_H * scale_value
                cell_grads = cell.param_grads(x_seq, states, grad_charged)
            if needs[3]:  # ∂L/∂s = Σ_n ⟨ḡH_n, Δ_n⟩, Δ_n = C_n − V_n
                with torch.no_grad():
                    increments = torch.stack([_increment(cell, x, v) for x, v in zip(x_seq.unbind(0), states.unbind(0))])
                grad_scale = _sum_to(grad_H * increments, scale)
        kernel_grads = [None] * n_kernel
        if any(needs[9 + n_links : first]):  # ∂c_n/∂(weights) from ḡH, before its buffer is reused
            kernel_grads = ctx.replay.grads(grad_H, partial(_states, cell, v_init, pre_spike, spikes, ctx.stored))
        # ḡx = gain·ḡH in ḡH's own buffer: every other gradient that reads ḡH is computed by now
        grad_x = _scaled_(grad_H, gain) if needs[0] else None
        return (grad_x, grad_v_init if needs[1] else None, scan.grad_anchor, grad_scale,
                None, None, None, None, None, *scan.grad_links, *kernel_grads, *cell_grads)


def _increment(cell, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Δ = C − V of one step, or the cell's own ``increment(x, v)`` when it has one."""
    increment = getattr(cell, "increment", None)
    return cell.charge(x, v) - v if increment is None else increment(x, v)


def _scaled_(t: torch.Tensor, k) -> torch.Tensor:
    """t·k in place (k a number, 1 leaves t as it is, or a tensor that broadcasts to t)."""
    if isinstance(k, torch.Tensor):
        return t.mul_(k) if broadcasts_onto(k.shape, t.shape) else t * k
    return t if k == 1.0 else t.mul_(k)


def _sum_to(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``t`` summed down to ``like``'s (broadcast) shape."""
    while t.dim() > like.dim():
        t = t.sum(0)
    dims = [i for i, (a, b) in enumerate(zip(t.shape, like.shape)) if b == 1 and a != 1]
    return (t.sum(dims, keepdim=True) if dims else t).reshape(like.shape)


class _AdjointScan:
    """The adjoint recurrence (module docstring): ḡH for every step, ∂L/∂V_0, and the gradients
    of the anchor (when it is an input) and of the earlier calls' links."""

    def __init__(self, history, keep, link_sizes: list, need_v_init: bool, anchor_input: bool) -> None:
        self.history, self.keep, self.link_sizes = history, keep, link_sizes
        self.need_v_init = need_v_init
        self.anchor_input = anchor_input
        self.grad_anchor = None
        self.grad_links: list = []

    def run(self, cell, fire_input, spikes, grad_spikes, grad_v_last, grad_states):
        """``fire_input(lo, hi, S)``: (H_n − θ, H_n or ``None``) of steps lo … hi − 1."""
        T, keep = spikes.shape[0], self.keep
        anchored = self.history.anchored
        grad_H = torch.empty_like(spikes)
        adjoint = self.adjoint = self.history.adjoint(grad_H)
        grad_v = torch.zeros_like(spikes[0]) if grad_v_last is None else grad_v_last
        # Σ ḡu: the anchor's gradient, needed when it is v_init (anchored here) or an input
        summing = (anchored and self.need_v_init) or self.anchor_input
        memory_sum = torch.zeros_like(grad_v) if summing else None
        # ḡH_n = ḡspike_n σ'_n + P_n ḡV_{n+1},  P_n = ∂R/∂H + ∂R/∂S σ'_n: all but ḡV is known up
        # front, so it is computed a few steps at a time and the time loop keeps few ops per step
        chunk = max(1, min(16, CHUNK_ELEMENTS // max(1, grad_v.numel())))
        for hi in range(T, 0, -chunk):
            lo = max(0, hi - chunk)
            S = spikes[lo:hi]
            z, H = fire_input(lo, hi, S)
            slope = cell.fire_slope(z)
            direct = slope * grad_spikes[lo:hi] if grad_spikes is not None else torch.zeros_like(slope)
            through_H, through_S = cell.reset_partials(H, S)
            through = through_H if through_S is None else through_S * slope + through_H
            for i in range(hi - lo - 1, -1, -1):
                n = lo + i
                g = grad_H[n]
                if isinstance(through, torch.Tensor):
                    torch.addcmul(direct[i], grad_v, through[i], out=g)
                else:  # a soft, detached reset: ∂R/∂H = 1
                    torch.add(direct[i], grad_v, alpha=through, out=g)
                if anchored and n == 0:  # u_0 = V_0 − a with a = V_0: its terms cancel (no ḡu_0 asked)
                    grad_v = g * keep
                else:
                    memory = adjoint.correction(g)  # ḡu_n = Σ_k ρ_k ḡH_{n-1+k} (may view the kernel's buffers)
                    if memory_sum is not None:
                        memory_sum.add_(memory)
                    grad_v = _plus_scaled(memory, g, keep)
                if grad_states is not None:
                    grad_v.add_(grad_states[n])
        self._past(grad_v, memory_sum)
        if anchored and memory_sum is not None:
            grad_v = grad_v - memory_sum
        return grad_H, grad_v

    def _past(self, like: torch.Tensor, memory_sum: torch.Tensor | None) -> None:
        """The adjoint run on before the call (fed zeros): ∂L/∂u_j of the earlier calls' states."""
        zero = torch.zeros_like(like)
        for size in reversed(self.link_sizes):
            grads = [self.adjoint.correction(zero).clone() for _ in range(size)][::-1]
            self.grad_links.insert(0, torch.stack(grads))
            if memory_sum is not None:
                memory_sum.add_(self.grad_links[0].sum(0))
        if self.anchor_input:
            self.grad_anchor = -memory_sum


def _plus_scaled(a: torch.Tensor, b: torch.Tensor, k) -> torch.Tensor:
    """a + k·b as a new tensor (k a number or a tensor)."""
    if isinstance(k, torch.Tensor):
        return torch.addcmul(a, b, k)
    return torch.add(a, b, alpha=k)
