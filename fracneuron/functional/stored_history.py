r"""The stored-history convolution: a growing causal sum over every stored past value.

This is the kernel behind the ``exact`` and ``window`` engines and behind every scheme that needs
Σ_{k=1}^{m} ρ_k x_{m-k} over a growing past (L1, product integration). Each step appends x_{m-1}
and returns

    y_m = Σ_{k=1}^{m} ρ_k x_{m-k}        (ρ given reversed: r[:, R-k] = ρ_k, k = 1..R)

Layout. The past x_0 … x_{n-1} of a state ``[batch, *features]`` lives in one buffer ``[P, C, Q]``
(a :class:`PastStore`, capacity C grown by doubling):

* one kernel per layer: P = 1, Q = batch·features (the history sum is a matrix–vector product);
* one kernel per neuron: the same rows, weights ``[features, R]``, element-wise sums (a
  ``[features, C, batch]`` store cost a transposed copy in and out every step: measured, one
  thread, T = 16, [32, 1024], ≈ 1.7 ms of an 11 ms fused learned-α layer);
* ``rows`` layout: the caller passes ``[P, Q]`` itself (several kernels over one past, say).

Blocking. y_m = Σ_{j<m} ρ_{m-j} x_j is split at the start m0 of a block of B steps into a *far*
part over j < m0, computed for all B steps of the block by one matrix product (a Hankel slice of
r times the stored past), and a *near* part over m0 ≤ j < m (at most B − 1 terms). With
``span`` > 1 the far part has two levels: one product over j < M0 serves the span·B steps of an
outer block starting at M0 (the old past is read from memory once per outer block, not once per
block), a small one over M0 ≤ j < m0 (recent values, still in cache) completes each block's.

Explicit, persistent state. A :class:`Past` is a small handle — its store, its length n, the far
part of its block, its weights and its autograd ``chain`` — and :func:`step` advances it.
:meth:`Past.fork` gives an independent handle in O(1): both share the store, whose rows below
``claimed`` are never written again; a handle that continues from fewer rows than the store has
claimed copies first (copy-on-write). Growth and window compaction also move to a new store, so a
store's existing rows never change: a past handed out stays what it was.

Autograd without shared state. Each recorded step is one :class:`_HistoryStep` node with inputs
``(chain, x_prev, r)`` and outputs ``(y_m, chain')``. ``chain'`` is a zero tensor expanded to
``[P, C + B, Q]``; its *gradient* is the accumulator of the backward pass: rows ``[:C]`` hold
∂L/∂x_j of the store's rows, rows ``[C:]`` the gradients of the current block's outputs, waiting
for the block's far part. A step's backward adds its near part at once, parks its ḡ_m, flushes
the block's far part with one matrix product at the block's first step, hands its own input the
finished ∂L/∂x_{m-1} and passes the accumulator on as the gradient of the previous ``chain``.
Branches (two continuations of one past) send two accumulators into the shared ``chain``, which
autograd adds: by linearity the sum is the gradient of both. Memory O(T·N) for forward and
backward; no state outlives a backward pass.
"""

from __future__ import annotations

import copy

import torch

from .block_products import far_part, flush, skew
from .past_store import PastStore
from .per_neuron import batch_dots, weighted_rows

__all__ = ["BLOCK", "PastStore", "Past", "step"]

#: Steps per block when one kernel serves the whole layer (P = 1); one-step blocks (a kernel per
#: neuron) with fewer than FEW past values sum them element-wise; SPAN blocks per outer block.
BLOCK, FEW, SPAN = 16, 16, 4


class Past:
    """One sequence's past, as seen by one handle (see the module docstring).

    ``window`` = None keeps every lag (exact); an int L reads only the last L (window: its weights
    must vanish beyond L). ``capacity_hint``: the length of the previous sequence, to allocate once.
    """

    def __init__(self, window: int | None = None, capacity_hint: int = 64, rows: bool = False) -> None:
        self.window, self.capacity_hint = window, capacity_hint
        self.rows = rows  # the caller passes (and takes back) the [P, Q] layout itself
        self.store: PastStore | None = None
        self.n = 0  # values stored by this handle's sequence
        self.shape: torch.Size | None = None
        self.per_neuron = False
        self.block_size = BLOCK
        self.block_start = 0  # first step of the current block (0: none yet)
        self.far: torch.Tensor | None = None  # [P, block, 1, Q]: the block's far parts (Hankel row order)
        self.weights: torch.Tensor | None = None  # reversed weights r [P, R]
        self.weights_have_graph = False
        self.by_lag: torch.Tensor | None = None  # per-neuron weights lag-major [R, F] (r transposed)
        self.by_lag_of: torch.Tensor | None = None  # the weights ``by_lag`` was made from
        self.zero_first = False  # x_0 is exactly 0 (u_0 of a sequence that is its own anchor)
        self.block_weights: torch.Tensor | None = None  # the weights ``far`` was computed with
        self.skewed: torch.Tensor | None = None  # ``block_weights`` as a Hankel source (see skew)
        self.span = 1  # blocks per outer block (module docstring)
        self.outer_start = 0  # M0: first step of the current outer block
        self.outer_steps = 0  # steps from M0 whose far parts over j < M0 were computed (``outer_far``'s rows)
        self.outer_far: torch.Tensor | None = None  # [P, span·block, Q]: its far parts over j < M0
        self.outer_skewed: torch.Tensor | None = None  # skew(block_weights, span·block)
        self.owns_far = False  # no other handle reads ``outer_far``: later blocks write it in place
        self.chain: torch.Tensor | None = None  # the last recorded step's accumulator link
        #: (capacity, offset, block_start, outer_start) of the store when ``chain`` was made
        self.chain_layout: tuple[int, int, int] | None = None
        self.facts: tuple | None = None  # (layout facts, the handle :meth:`layout` returns)

    # ------------------------------------------------------------- handles
    def fork(self) -> "Past":
        """An independent handle on the same past (O(1); see the module docstring)."""
        self.owns_far = False  # both read ``outer_far`` now: neither writes it again
        return copy.copy(self)

    def cut(self) -> "Past":
        """The same past values with no autograd graph: a new block starts at the next step."""
        new = self.fork()
        new.chain = new.chain_layout = new.far = new.block_weights = new.weights = new.skewed = None
        new.outer_far = new.outer_skewed = new.by_lag = new.by_lag_of = None
        new.block_start = 0  # the weights are asked for again: they may carry α's graph
        return new

    def layout(self) -> "Past":
        """Only the layout facts (shape, kernel rows, window, block size): what a backward reads.
        Made once per layout and shared by every step's backward (no per-step copy)."""
        facts = (self.shape, self.per_neuron, self.block_size, self.rows, self.window)
        if self.facts is None or self.facts[0] != facts:
            new = self.cut()
            new.store = new.weights = new.facts = None
            self.facts = (facts, new)
        return self.facts[1]

    def moved(self, fn) -> "Past":
        """The same past converted by ``fn`` (a dtype or device move), with no graph."""
        new = self.cut()
        if self.store is not None:
            lo = self.lowest_needed(self.n)
            new.store = PastStore(fn(self.store.rows(lo, self.n)).clone(), lo, self.n)
        return new

    def snapshot(self) -> "Past":
        """For copies and pickles: the values and block this handle reads, no graph and no store
        shared, so a copy continues the sequence with exactly the same arithmetic."""
        new = self.fork()
        new.chain = new.chain_layout = None
        if self.weights is not None:
            new.weights = self.weights.detach()
            new.block_weights = new.weights if self.block_weights is self.weights else None
            new.skewed = self.skewed if new.block_weights is not None else None
        new.weights_have_graph = False
        if self.store is not None:
            lo = self.lowest_needed(self.block_start or self.n)
            new.store = PastStore(self.store.rows(lo, self.n).clone(), lo, self.n)
        return new

    def values(self) -> torch.Tensor | None:
        """The stored past x_lo … x_{n-1} as ``[n − lo, *shape]`` (lo: the oldest a window
        reads), detached."""
        if self.store is None:
            return None
        rows = self.store.rows(self.lowest_needed(self.n), self.n).detach()  # [P, n − lo, Q]
        if self.rows:
            return rows.transpose(0, 1)
        return rows.reshape(rows.shape[1], *self.shape)  # (P = 1; P = 0 for a state of no neurons)

    def adopt(self, values: torch.Tensor, n: int) -> None:
        """Take ``values`` (``[count, *shape]``, the last of n stored values, as :meth:`values`
        gives them) as this new handle's past; its layout (shape, per_neuron) is set first."""
        count = values.shape[0]
        data = values.transpose(0, 1) if self.rows else values.reshape(1, count, -1)
        self.store = PastStore(data.contiguous(), n - count, n)
        self.n = n

    # ------------------------------------------------------------- layout
    @property
    def elementwise(self) -> bool:
        """Weights one per neuron over the time-major store: element-wise sums (module docstring)."""
        return self.per_neuron and not self.rows

    def store_rows(self, r: torch.Tensor) -> int:
        """P for weights ``r``: one row per kernel; one for element-wise weights (and its accumulator's)."""
        return 1 if self.elementwise else r.shape[0]

    def to_layout(self, u: torch.Tensor) -> torch.Tensor:
        """[batch, *features] -> [P, Q]."""
        return u if self.rows else u.reshape(1, u.numel())

    def from_layout(self, x: torch.Tensor) -> torch.Tensor:
        """[P, Q] (or [P, 1, Q]) -> [batch, *features]."""
        if self.rows:
            return x if x.dim() == 2 else x.reshape(x.shape[0], x.shape[-1])
        return x.reshape(self.shape)

    def lowest_needed(self, m0: int) -> int:
        """Oldest logical index a block starting at step m0 (or a step m0) reads."""
        return 0 if self.window is None else max(0, m0 - self.window)

    def starts_block(self, m: int) -> bool:
        """Does step m (the m-th stored value) open a new block?"""
        return self.block_start == 0 or m - self.block_start >= self.block_size

    def lags_needed(self, m: int) -> int:
        """Length R of the reversed weights a block starting at step m reads."""
        if self.window is None:
            return m + self.span * self.block_size - 1
        return self.window + self.block_size


# ------------------------------------------------------------------------------ forward
def _make_room(past: Past, last: int, like: torch.Tensor, P: int, Q: int) -> None:
    """Let this handle write logical indices n … last − 1 into a store it owns: a new store when
    there is none, when another continuation claimed rows ≥ n, or when the store is full."""
    store, n = past.store, past.n
    if store is None:
        past.store = PastStore(like.new_empty((P, max(past.capacity_hint, last), Q)), 0, 0)
    elif not store.owned_by(n, last):
        # keep what the rest of the block reads (far rows for a first recorded step's flush, near rows) and the next
        lo = past.lowest_needed(past.block_start or n) if past.window is not None else store.offset
        past.store = store.moved(n, lo, last, like)


def _single_step(past: Past, u: torch.Tensor, r: torch.Tensor, m: int) -> torch.Tensor:
    """Blocks of one step (few columns: the loop is latency-bound): the far part is the whole sum,
    a slice of r against the stored past. Returns [P, Q]."""
    _make_room(past, m, u, past.store_rows(r), u.shape[1])
    store = past.store
    store.data.select(1, m - 1 - store.offset).copy_(u)
    store.claimed = past.n = past.block_start = m
    lo, R = past.lowest_needed(m), r.shape[1]
    if past.elementwise:  # Σ_j ρ_{m-j} ⊙ x_j, the rows [m − lo, batch, F] as they are stored
        past.zero_first = past.zero_first or (m == 1 and not u.any())
        lo = max(lo, int(past.zero_first))  # (its terms are zeros; its gradient is not: see backward)
        if past.by_lag_of is not r:  # a row per lag, as the store's rows (once per weights)
            past.by_lag, past.by_lag_of = r.t().contiguous(), r
        values = store.rows(lo, m)[0].view(m - lo, u.shape[1] // r.shape[0], r.shape[0])
        return weighted_rows(past.by_lag[R - m + lo : R], values).reshape(1, -1)
    if u.shape[0] == 1 < r.shape[0]:  # one past row for several kernels: a matrix product
        return torch.mm(r[:, R - m + lo : R], store.rows(lo, m)[0])
    if m - lo < FEW:  # (the CPU's batched product of so few terms is several times slower)
        return (r[:, R - m + lo : R].unsqueeze(2) * store.rows(lo, m)).sum(1)
    return torch.bmm(r[:, R - m + lo : R].unsqueeze(1), store.rows(lo, m)).squeeze(1)


def _advance(past: Past, u: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Append x_{m-1} (``u``, in the [P, Q] layout) and return y_m as [P, Q] or [P, 1, Q]."""
    m = past.n + 1
    if past.block_size == 1:
        return _single_step(past, u, r, m)
    B, S = past.block_size, past.block_size * past.span
    new_block = past.starts_block(m) or r is not past.block_weights
    # (no block yet: no outer far parts either)
    new_outer = new_block and (past.block_start == 0 or r is not past.block_weights or m - past.outer_start >= past.outer_steps)
    _make_room(past, m + (B - 1 if new_block else 0), u, r.shape[0], u.shape[1])
    store = past.store
    store.data.select(1, m - 1 - store.offset).copy_(u)
    store.claimed = past.n = m
    if new_block:  # far part of steps m … m + B − 1 from the values j < m
        R = r.shape[1]
        if r is not past.block_weights or past.skewed is None:
            past.skewed = skew(r, B)
            past.outer_skewed = skew(r, S) if S > B else past.skewed
        zero = False
        if new_outer:  # over j < m for the S steps from m, or those the store has room for (a short
            # sequence's: none for steps it will not reach; a longer one moves, and a new outer block starts)
            lo, steps = past.lowest_needed(m), max(B, min(S, store.offset + store.capacity - m + 1) // B * B)
            past.outer_start, past.outer_steps = m, steps
            # A sequence's first value is u_0 = v_0 − a = 0 (it is its own anchor): a short sequence's
            # one block then has no far part at all, no buffer to fill with zeros and read back
            zero = steps == B and m - lo == 1 and not store.rows(lo, m).any()
            if not zero:
                spare = past.outer_far if past.owns_far else None  # (a fresh buffer is fresh pages)
                past.outer_far = far_part(past.outer_skewed, R, m, lo, store.rows(lo, m), steps=steps, out=spare)
                past.owns_far = True
        if zero:
            past.far = None
        else:
            M0 = past.outer_start
            top = past.outer_steps - B - (m - M0)  # this block's rows in the outer block's far parts
            far = past.outer_far[:, top : top + B]
            if m > M0:  # plus over M0 ≤ j < m (in place unless a fork shares ``outer_far``)
                far = far_part(past.skewed, R, m, M0, store.rows(M0, m), into=far, in_place=past.owns_far)
            past.far = far.unsqueeze(2)
        past.block_start = m
        past.block_weights = r
    m0 = past.block_start
    if past.far is None:  # (a zero far part: the near part alone)
        if m > m0:
            return torch.bmm(r[:, None, r.shape[1] - m + m0 :], store.rows(m0, m))
        return u.new_zeros((store.data.shape[0], 1, u.shape[1]))
    c = past.far[:, past.block_size - 1 - (m - m0)]
    if m > m0:
        R = r.shape[1]
        return torch.baddbmm(c, r[:, None, R - m + m0 :], store.rows(m0, m))
    return c.clone() if past.owns_far else c  # (a later outer block writes that buffer again)


# ------------------------------------------------------------------------------ autograd
class _HistoryStep(torch.autograd.Function):
    """One recorded step: (chain, x_prev, r) -> (y_m, chain'); see the module docstring."""

    @staticmethod
    def forward(ctx, chain, u_prev, r, past):
        ctx.set_materialize_grads(False)
        chain_layout = past.chain_layout
        u = past.to_layout(u_prev)
        y = _advance(past, u, r)
        store, m, m0 = past.store, past.n, past.block_start
        M0 = past.outer_start if past.block_size > 1 else m0
        layout = (store.capacity, store.offset, m0, M0)
        ctx.layout, ctx.store, ctx.r = past.layout(), store, r
        ctx.skewed, ctx.outer_skewed = (past.skewed, past.outer_skewed) if past.block_size > 1 else (None, None)
        ctx.by_lag = past.by_lag if past.elementwise else None
        ctx.m, ctx.m0, ctx.outer = m, m0, M0
        ctx.shared_row = u.shape[0] == 1 < r.shape[0] and not past.elementwise
        # a (outer) block's far part is flushed at its first step, or at the first recorded one
        ctx.flush = chain is None or chain_layout[2] != m0 or m == m0
        ctx.outer_flush = chain is None or chain_layout[3] != M0 or m == M0
        # the accumulator's layout changes where this step moved to a new store
        ctx.chain_layout = None if chain is None or chain_layout[:2] == layout[:2] else chain_layout[:2]
        past.chain_layout = layout
        link = torch.zeros((), dtype=y.dtype, device=y.device)
        return past.from_layout(y), link.expand(past.store_rows(r), layout[0] + past.span * past.block_size, store.data.shape[2])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, G):
        past, store, r = ctx.layout, ctx.store, ctx.r
        m, m0, M0, B = ctx.m, ctx.m0, ctx.outer, past.block_size
        S = B * past.span
        P, R = past.store_rows(r), r.shape[1]
        C, off = store.capacity, store.offset
        if G is None:  # nothing later was recorded: this step's backward opens the pass
            G = store.data.new_zeros((P, C + S, store.data.shape[2]))
        # G[:, C:]: the outer block's output gradients, Hankel row order; this step's row, its block's first
        row, top = S - 1 - (m - M0), S - B - (m0 - M0)
        need_r = ctx.needs_input_grad[2]
        grad_r = torch.zeros_like(r) if need_r else None
        if grad_y is not None:
            g = past.to_layout(grad_y)
            if m > m0 and need_r:
                grad_r[:, R - m + m0 : R] += torch.bmm(g.unsqueeze(1), store.rows(m0, m).transpose(1, 2)).squeeze(1)
            G[:, C + row] = g
        own = None
        if ctx.needs_input_grad[1]:
            if m > m0:  # near part, gathered: x_{m-1} feeds steps m … m0 + B − 1, all parked now
                own = torch.baddbmm(G[:, m - 1 - off : m - off], r[:, None, R - row - 1 + top :], G[:, C + top : C + row + 1])
        if ctx.flush and past.elementwise:  # one-step blocks (m0 = M0 = m): y_m = Σ_{j<m} ρ_{m-j} ⊙ x_j
            lo, F = past.lowest_needed(m), r.shape[0]
            rows = (m - lo, G.shape[2] // F, F)  # ḡy_m: ∂L/∂x_j += ρ_{m-j} ⊙ ḡy_m, ∂L/∂ρ_{m-j} += Σ_b ḡy_m ⊙ x_j
            g = G[0, C].view(rows[1:])  # (explicit sizes: an empty batch leaves -1 ambiguous)
            G[0, lo - off : m - off].view(rows).addcmul_(ctx.by_lag[R - m + lo : R].unsqueeze(1), g)
            if grad_r is not None:
                grad_r[:, R - m + lo : R] += batch_dots(store.rows(lo, m)[0].view(rows), g).t()
            G[:, C:].zero_()
        elif ctx.flush:  # the block's first (or first recorded) step: its far parts, one product each
            skewed = skew(r, B) if ctx.skewed is None else ctx.skewed  # (one-step blocks)
            if m0 > M0:  # over M0 ≤ j < m0
                flush(G[:, M0 - off : m0 - off], G[:, C + top : C + top + B], skewed, R, m0, M0, store.rows(M0, m0), grad_r)
            if ctx.outer_flush:  # over j < M0, for the whole outer block
                lo = past.lowest_needed(M0)
                outer = skewed if S == B else ctx.outer_skewed
                flush(G[:, lo - off : M0 - off], G[:, C:], outer, R, M0, lo, store.rows(lo, M0), grad_r)
                G[:, C:].zero_()
        grad_u = None
        if ctx.needs_input_grad[1]:
            if own is None:  # x_{m-1} is far for this whole block: its row is complete
                own = G[:, m - 1 - off : m - off, :].clone()
            grad_u = past.from_layout(own.sum(0, keepdim=True) if ctx.shared_row else own)
        grad_chain = None
        if ctx.needs_input_grad[0]:
            grad_chain = G if ctx.chain_layout is None else _relayout(G, store, ctx.chain_layout, S)
        return grad_chain, grad_u, grad_r, None


def _relayout(G: torch.Tensor, store: PastStore, layout: tuple[int, int], block: int) -> torch.Tensor:
    """The accumulator in the previous store's layout (this step moved to a new store)."""
    capacity, offset = layout
    P, C, Q = G.shape[0], store.capacity, G.shape[2]
    out = G.new_zeros((P, capacity + block, Q))
    lo = max(offset, store.offset)
    hi = min(offset + capacity, store.offset + C)
    if hi > lo:
        out[:, lo - offset : hi - offset, :] = G[:, lo - store.offset : hi - store.offset, :]
    out[:, capacity:, :] = G[:, C:, :]
    return out


def step(past: Past, u_prev: torch.Tensor, weights_for) -> torch.Tensor:
    """Advance ``past`` by x_{m-1} = ``u_prev`` ([batch, *features], or [P, Q] in ``rows`` layout)
    and return y_m = Σ_{k=1}^{m} ρ_k x_{m-k} in the same shape, recorded for autograd when
    anything needs it.

    ``weights_for(R)`` returns reversed weights [P, R'] (R' >= R; r[:, R'-k] = ρ_k); it is called
    only when a block starts and the current weights are too short (and again when a sequence
    that began under ``no_grad`` continues with grad enabled, so α gets its gradient).
    """
    m = past.n + 1
    # weights computed under no_grad carry no graph to α: a sequence that continues with grad
    # enabled needs them again (a new block starts there, as after detach)
    regraph = torch.is_grad_enabled() and past.weights is not None and not past.weights_have_graph
    if past.starts_block(m) or regraph:
        R = past.lags_needed(m)
        if past.weights is None or past.weights.shape[1] < R or regraph:
            past.weights = weights_for(R)
            past.weights_have_graph = torch.is_grad_enabled()
    r = past.weights
    needs_graph = torch.is_grad_enabled() and (
        u_prev.requires_grad or r.requires_grad or (past.chain is not None and past.chain.requires_grad)
    )
    if not needs_graph:
        return past.from_layout(_advance(past, past.to_layout(u_prev), r))
    y, past.chain = _HistoryStep.apply(past.chain, u_prev, r, past)
    return y
