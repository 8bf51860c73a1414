r"""The memory side of a fused sequence (:mod:`fracneuron.functional.sequence`).

:class:`SequenceHistory` hands the sequence kernel one running
:class:`~fracneuron.memory.state.FractionalState` of a :class:`~fracneuron.memory.FractionalMemory`:
the correction c_n of each step (advancing that state as a stepped neuron would), the increment
scale s, a fresh copy of the kernel for the adjoint pass, and the gradient of the memory's
parameters (α, coefficients).

The parameters' gradient replays the kernel over the states the forward produced: with V_n held
constant, c_n(α) = Σ_k ρ_k(α) u_{n-k} is linear in the weights, so

    ∂L/∂α = Σ_n ⟨ḡH_n, ∂c_n/∂α⟩ = Σ_k ∂L/∂ρ_k · ∂ρ_k/∂α,    ∂L/∂ρ_k = Σ_n ⟨ḡH_n, u_{n-k}⟩.

The weights, computed again with α's graph when the sequence runs, are inputs of the sequence's
autograd node, whose backward gives them ∂L/∂ρ from ḡH (:class:`KernelReplay`); autograd carries it
on to α. Where no closed form serves (an earlier past, several terms, a long per-neuron ``exact``
kernel), the replay is the corrections themselves, recomputed step by step with their graph, and
they get ḡH. The replay starts from a fork of the state the call began with (its earlier past
included: constants of the graph, as after ``detach()``), cut from any graph so the engine computes
its weights again with α's graph.
"""

from __future__ import annotations

import torch

from ..functional.exponential_modes import ModeConvolution
from ..functional.stored_history import BLOCK, SPAN
from .fractional import FractionalMemory
from .soe import SoeMemory
from .exact import ExactMemory
from .kernel_gradient import exact_kernel_grad, soe_kernel_grads
from .state import FractionalState

__all__ = ["SequenceHistory", "KernelReplay", "can_run_sequence"]

#: the longest sequence whose adjoint sums its kernel's lags directly (one product per step over
#: the gradients already there) instead of running a fresh copy of the engine
SHORT = 64


def can_run_sequence(memory: FractionalMemory, state: FractionalState | None) -> bool:
    """Whether a fused sequence can continue ``state`` (``None``: a new one): an engine with an
    adjoint and a past that carries no autograd graph (a new sequence, or after ``detach()``)."""
    if memory.is_markovian:
        return False
    engine = memory.engine if state is None else state.engine
    if engine.adjoint() is None:
        return False
    if state is None:
        return True
    return not engine.has_graph


class SequenceHistory:
    """``memory``'s history for one fused call that advances ``state`` (see the module docstring)."""

    def __init__(self, memory: FractionalMemory, state: FractionalState, steps: int) -> None:
        self.memory, self.state = memory, state
        self.anchored = state.anchor is None or state.engine.steps == 0
        anchor = state.anchor
        recording = torch.is_grad_enabled()
        #: the anchor, when an earlier call set it with a graph (it is then an input of this call)
        self.anchor = anchor if recording and not self.anchored and anchor.requires_grad else None
        # the earlier calls' links; the state holds none while this call's own steps advance it
        # (a step outside a fused call adds its place to the line: FractionalMemory.advance)
        self.earlier = () if self.anchored else state.links
        state.links = ()
        self.links = self.earlier if recording else ()
        self.engine = None  # the state's engine, once the forward is done (:meth:`record`)
        self.kernel = None  # a soe engine's convolution, once this call's first step set its weights
        self.params = tuple(p for p in memory.parameters() if p.requires_grad) if recording else ()
        self.start = state.detached() if self.params else None  # where the replay begins
        #: the replay reads u_0 … u_{T−1} from the exact engine's own store (a new single-term
        #: sequence: the store holds exactly u = V − V_0): no copy of the states
        engine = state.engine
        self.reads_store = bool(self.params) and _time_major_store(engine) and self._direct(engine)
        #: a replay of the corrections (no closed form: see :meth:`replay`) runs in the forward,
        #: over the states V_0 … V_{T−1} the call's ``steps`` steps are given: rows of one buffer
        #: (a tensor per step would be T objects for GC). The weights' closed forms read the
        #: states only in the backward, which recovers them from the sequence's H and S.
        self.keeps_seen = bool(self.params) and not self._direct(engine)
        self.seen: torch.Tensor | None = None
        self.weights: torch.Tensor | None = None  # an exact replay's ρ_1 … ρ_T, detached: the adjoint's too
        self.steps, self.count = steps, 0
        if recording:
            state.engine.begin_recording()

    def record(self, link: torch.Tensor) -> None:
        """Keep this call's states (with their graph) for the calls that continue the sequence; a
        call without a graph keeps its place after earlier links (a later call's adjoint runs past it).

        The call's forward ends here: this object (held by the sequence's autograd node) lets go
        of the state, which holds the link, whose node holds this object. Kept, that cycle would
        outlive a reset until Python's cycle collector ran, and with it the sequence's stored past:
        buffers freed late, the heap grown and trimmed again, fresh pages on every call."""
        if link.requires_grad or self.earlier:
            self.state.links = (*self.earlier, link)
        self.engine, self.state = self.state.engine, None

    def correction(self, v_prev: torch.Tensor) -> torch.Tensor:
        if self.keeps_seen:
            self._keep(v_prev.detach())
        self.count += 1
        c = self.memory.advance(self.state, v_prev)
        if self.kernel is None:  # the soe kernel of this call (a detach() may replace the engine's)
            self.kernel = getattr(self.state.engine, "convolution", None)
        return c

    def _keep(self, v: torch.Tensor) -> None:
        if self.seen is None:
            self.seen = v.new_empty((self.steps, *v.shape))
        self.seen[self.count].copy_(v)

    def keeps_states(self) -> bool:
        """Does the engine's store hold V_0 … V_{T−1} themselves, bit for bit (after the first
        step): an ``exact`` engine over a new sequence anchored at +0, where u = V is stored as it is."""
        state = self.state
        return _time_major_store(state.engine) and self.anchored and state.zero_anchor and not self.earlier

    def stored_states(self) -> torch.Tensor:
        """V_0 … V_{T−1} ``[T, ...]`` (see :meth:`keeps_states`): a view of the engine's store,
        whose rows are never written again."""
        return self.state.engine.state_values()

    def scale(self, like: torch.Tensor) -> torch.Tensor | None:
        return self.memory.increment_scale(like)

    def adjoint(self, grad_H: torch.Tensor):
        """The kernel run backward in time over ``grad_H`` ([T, B, ...], filled from the end)."""
        engine, T = self.engine, grad_H.shape[0]
        if not self.links:  # (earlier calls' links: the adjoint runs on past the call's start)
            # the gradients already there are the adjoint's past: read in place, no stored copy
            # (past SHORT steps a window's or soe's own adjoint reads less than every later row)
            rho = None
            if isinstance(engine, ExactMemory) and (T <= SHORT or engine.window is None):
                rho = self.weights
                if rho is None:
                    rho = engine.kernel_weights(self.memory.order, T, grad_H).detach()
            elif T <= SHORT and isinstance(engine, SoeMemory) and self.kernel is not None:
                rho = engine.lag_weights(self.kernel, T)
            if rho is not None and rho[0].numel() == 1:
                return _BlockedAdjoint(rho, grad_H)
            if rho is not None and T <= SHORT:
                return _ShortAdjoint(rho, grad_H, first=not self.anchored)
        return _Adjoint(engine.adjoint(), self.memory)

    def replay(self) -> "KernelReplay":
        """The kernel's weights with their graph to :attr:`params`, and how their gradient follows
        from ḡ = ∂L/∂c over the states V_0 … V_{T−1} that :meth:`correction` was given
        (constants). A new single-term ``soe`` or ``exact`` sequence: the weights themselves
        (:mod:`fracneuron.memory.kernel_gradient`), over u_n = V_n − V_0 (the anchor is V_0);
        otherwise the corrections c_1 … c_T ``[T, B, ...]`` recomputed step by step with their graph."""
        T, memory, state = self.count, self.memory, self.start.detached()
        engine, self.count = state.engine, 0
        if not self._direct(engine):
            seen, self.seen = self.seen[:T], None
            with torch.enable_grad():
                corrections = torch.stack([memory.advance(state, v) for v in seen.unbind(0)])
            return KernelReplay((corrections,), lambda grad, states: (grad.clone(),))  # ∂c_n/∂c_n = 1
        anchor = self.state.anchor  # V_0: its shape, dtype and device are the states'
        if isinstance(engine, SoeMemory):
            return self._soe_replay(engine, anchor, T)
        # exact: the pairs' sums are matrix products for one kernel, element-wise per neuron
        with torch.enable_grad():
            rho = engine.kernel_weights(memory.order, T, anchor)
        self.weights = rho.detach()  # the same values the adjoint would compute again
        stored = self.state.engine.state_values() if self.reads_store else None  # u, as stored (a view)

        def grads(grad: torch.Tensor, states) -> tuple[torch.Tensor]:
            u = stored if stored is not None else _deviations(states, anchor)(0, T)
            # (u_0 = V_0 − V_0 = 0: a new sequence is its own anchor)
            return (exact_kernel_grad(rho.detach(), u, grad, engine.window, zero_first=True),)

        return KernelReplay((rho,), grads)

    def _direct(self, engine) -> bool:
        """Do the weights themselves serve the replay: a new single-term ``soe`` or ``exact`` sequence?"""
        return self.anchored and self.memory.order.coefficients() is None and isinstance(engine, (SoeMemory, ExactMemory))

    def _soe_replay(self, engine: SoeMemory, like: torch.Tensor, T: int) -> "KernelReplay":
        order = self.memory.order
        fit = engine.fit_for(order)
        conv = ModeConvolution(fit.rates, engine.exact_lags, engine.block, like.shape, like.dtype, like.device)
        with torch.enable_grad():
            previous, engine.fit = engine.fit, fit
            try:
                near, amp = engine.kernel_weights(order, conv, like)
            finally:
                engine.fit = previous
        return KernelReplay(
            (near, amp), lambda grad, states: soe_kernel_grads(conv, near.detach(), amp.detach(), _deviations(states, like), grad)
        )


def _deviations(states, anchor: torch.Tensor):
    """u_lo … u_{hi−1} = V − a as a function of (lo, hi), from ``states(lo, hi)`` = V_lo … V_{hi−1}
    (a fresh membrane of zeros: u = V as it is)."""
    if not anchor.any():
        return states
    anchor = anchor.detach()
    return lambda lo, hi: states(lo, hi) - anchor


def _time_major_store(engine) -> bool:
    """Does ``engine`` store every u_n time-major, one row a step: ``exact`` with no window (whose
    store keeps only the rows its window reads)?"""
    return isinstance(engine, ExactMemory) and engine.window is None


class KernelReplay:
    """What a fused sequence needs for the memory parameters' gradient: ``inputs``, tensors with
    the graph to α (inputs of the sequence's node), and ``grads(ḡ, states)``, their gradients from
    ḡ = ∂L/∂c (``[T, B, ...]``, read before the sequence's backward reuses its buffer), with
    ``states(lo, hi)`` = V_lo … V_{hi−1} of the call."""

    def __init__(self, inputs: tuple[torch.Tensor, ...], grads) -> None:
        self.inputs, self.grads = inputs, grads


class _ShortAdjoint:
    """ḡu_n = Σ_{k=1}^{T−n} ρ_k ḡH_{n−1+k} for a kernel per neuron (``correction(g)`` is called
    with g = ḡH_n, n = T − 1 … 0): each ḡH_n, as it comes, adds ρ_{n−j+1} ⊙ ḡH_n to the sums of
    every j ≤ n, so the sum of n is complete when ḡH_n arrives (one kernel:
    :class:`_BlockedAdjoint`). The same products as summing the later rows at each step, in T
    broadcast multiply-adds instead of T²/2 row by row (measured, T = 16, [32, 1024]: 1.2 → 0.6 ms).

    The sums wait in ḡH's own buffer: that of j ≥ 1 in row j − 1, which the scan writes (ḡH_{j−1})
    only after it has read ḡu_j; that of j = 0 in a row of its own, kept only with ``first``
    (an anchored call never asks for ḡu_0). No [T, ...] buffer of fresh pages per call (a first
    touch of 2 MB cost ≈ 1 ms)."""

    def __init__(self, rho: torch.Tensor, grad_H: torch.Tensor, first: bool = True) -> None:
        T = grad_H.shape[0]
        rho = rho.reshape(T, -1)  # ρ_1 … ρ_T [T, features]
        self.by_distance = rho.flip(0).unsqueeze(1)  # row i: ρ_{T−i}, [T, 1, features]
        # a view: row j − 1 holds the sum of j (explicit sizes: an empty batch leaves -1 ambiguous)
        self.rows = grad_H.reshape(T, grad_H[0].numel() // rho.shape[1], rho.shape[1])
        self.first = self.rows.new_empty(self.rows.shape[1:]) if first else None  # the sum of j = 0
        self.n = T

    def correction(self, g: torch.Tensor) -> torch.Tensor:
        n = self.n = self.n - 1
        T, weights, rows = self.rows.shape[0], self.by_distance, self.rows
        gn = g.reshape(rows.shape[1:])
        # j = 0 gets ρ_{n+1}, j = 1 … n get ρ_n … ρ_1 (rows 0 … n − 1); later pushes reach only j < n
        if n == T - 1:  # the first push sets every sum
            torch.mul(weights[1:], gn, out=rows[: T - 1])
            if self.first is not None:
                torch.mul(weights[0], gn, out=self.first)
        else:
            rows[:n].addcmul_(weights[T - n :], gn)
            if self.first is not None:
                self.first.addcmul_(weights[T - 1 - n], gn)
        if n == 0 and self.first is None:
            raise RuntimeError("this adjoint keeps no sum for u_0 (an anchored call's terms cancel)")
        return (self.first if n == 0 else rows[n - 1]).reshape(g.shape)


class _BlockedAdjoint:
    """ḡu_n = Σ_{j=n}^{T−1} ρ_{j−n+1} ḡH_j for one kernel per layer, read from the gradient buffer
    (``correction(g)`` is called with g = ḡH_n, n = T − 1 … 0) by blocks of
    :data:`~fracneuron.functional.stored_history.BLOCK` steps, as the stored-history kernel runs
    forward, with its two levels: entering an outer block [LO, HI) of SPAN·BLOCK steps, the far
    part over j ≥ HI for all its steps is one matrix product over the later gradients,
    ``[HI − LO, T − HI] × [T − HI, Q]`` (a product of so few rows as one block's runs at half
    the speed); entering a block [lo, hi) inside it, a small product adds j in [hi, HI); each
    step adds its near part (n ≤ j < hi) with one matrix–vector product. The later gradients are
    read once per outer block and nothing is stored twice."""

    def __init__(self, rho: torch.Tensor, grad_H: torch.Tensor) -> None:
        T = grad_H.shape[0]
        self.rho = rho.reshape(T)  # ρ_1 … ρ_T
        self.rows = grad_H.reshape(T, -1)  # a view: the rows fill as the backward runs
        self.n = self.lo = self.hi = self.outer_lo = self.outer_hi = T  # current (outer) blocks: none yet
        self.far: torch.Tensor | None = None  # the current block's far parts
        self.outer: torch.Tensor | None = None  # the current outer block's far parts (j ≥ HI)
        #: their storage (block, outer block), each made when first needed: a short sequence's
        #: adjoint has no far parts, and an unused buffer still costs the allocator fresh pages
        self.buffers: list[torch.Tensor | None] = [None, None]

    def _far(self, lo: int, hi: int, top: int, level: int, base: torch.Tensor | None) -> torch.Tensor | None:
        """Rows hi − 1 − n (n = hi − 1 … lo) of Σ_{hi ≤ j < top} ρ_{j−n+1} ḡH_j (plus ``base``),
        in the buffer of ``level`` (0: a block, 1: an outer block)."""
        if top == hi:
            return base
        into = self.buffers[level]
        if into is None:
            into = self.buffers[level] = self.rows.new_empty(((BLOCK, SPAN * BLOCK)[level], self.rows.shape[1]))
        weights = self.rho.unfold(0, top - hi, 1)[1 : hi - lo + 1]  # row s − 1: ρ_{s+1} … (n = hi − s)
        if base is None:
            return torch.mm(weights, self.rows[hi:top], out=into[: hi - lo])
        return torch.addmm(base, weights, self.rows[hi:top], out=into[: hi - lo])

    def correction(self, g: torch.Tensor) -> torch.Tensor:
        n = self.n = self.n - 1
        T, rho = self.rows.shape[0], self.rho
        if n < self.lo:  # entering the next block down
            self.hi, self.lo = n + 1, max(0, n + 1 - BLOCK)
            if n < self.outer_lo:  # and the next outer block: its far parts over j ≥ HI
                self.outer_hi, self.outer_lo = n + 1, max(0, n + 1 - SPAN * BLOCK)
                self.outer = self._far(self.outer_lo, self.outer_hi, T, 1, None)
            HI = self.outer_hi
            base = None if self.outer is None else self.outer[HI - self.hi : HI - self.lo]
            self.far = self._far(self.lo, self.hi, HI, 0, base)
        near = self.rows[n : self.hi].t()
        if self.far is None:
            c = torch.mv(near, rho[: self.hi - n])
        else:
            c = torch.addmv(self.far[self.hi - n - 1], near, rho[: self.hi - n])
        return c.reshape(g.shape)


class _Adjoint:
    """A fresh copy of the kernel: ``correction(g)`` feeds it g (the gradients, backward in time)."""

    def __init__(self, engine, memory: FractionalMemory) -> None:
        self.engine, self.order = engine, memory.order

    def correction(self, g: torch.Tensor) -> torch.Tensor:
        return self.engine.correction(g, self.order)
