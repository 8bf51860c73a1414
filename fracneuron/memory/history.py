r"""A growing causal convolution over stored past values, with its own autograd.

This is the primitive behind the ``exact`` and ``window`` engines (and any scheme that needs
Σ_{k=1}^{m} ρ_k x_{m-k} over a growing past: product-integration solvers, L1, …). Each step appends
x_{m-1} and returns

    y_m = Σ_{k=1}^{m} ρ_k x_{m-k}        (ρ from ``weights_for``, reversed: r[:, R-k] = ρ_k)

Layout. The past u_0 … u_{n-1} of a state of shape ``[batch, *features]`` lives in one
preallocated buffer ``data`` of shape ``[P, capacity, Q]``, grown by doubling:

* one α per layer: P = 1, Q = batch·features (the history sum is a matrix–vector product);
* one α per neuron: P = features, Q = batch (one small product per neuron, batched).

The weights come reversed, ``r[:, R-k] = ρ_k`` (k = 1..R), so every history sum is a contiguous
slice of ``r`` against a contiguous slice of ``data``.

Blocking. y_m = Σ_{j<m} ρ_{m-j} x_j is split at the start m0 of a block of B steps into a *far*
part over j < m0, computed for all B steps of the block by one matrix product (a Hankel slice of
r times the stored past), and a *near* part over m0 ≤ j < m (at most B − 1 terms). One large GEMM
per block instead of B bandwidth-bound matrix–vector products.

Autograd. Writing into a preallocated buffer would break torch's autograd (the buffer is
modified after being read), so each step is one :class:`_HistoryStep` node: inputs ``(chain,
x_prev, r)``, outputs ``(y_m, chain)``. The ``chain`` tensors are empty; they only order the
nodes so that step m's backward runs after every later step's. The backward accumulates
∂L/∂x_j into a gradient buffer shaped like ``data`` — near parts immediately, far parts once per
block — and hands step m's own input its finished gradient. Forward and backward store the past
once: memory O(T·N), time O(T²·N) in large GEMMs.
"""

from __future__ import annotations

import torch

__all__ = ["History", "step"]

#: Steps per block when one α serves the whole layer (P = 1).
BLOCK = 16


def _graph_task() -> int:
    """Id of the backward pass in progress, so accumulators restart for each pass."""
    return torch._C._current_graph_task_id()


class History:
    """Past states of one sequence plus the accumulators its backward pass needs.

    ``window`` = None keeps every lag (the exact engine); an int L drops lags > L (the window
    engine: its weights vanish beyond L and its reads start at m − L).
    """

    def __init__(self, window: int | None = None, capacity_hint: int = 64) -> None:
        self.window = window
        self.capacity_hint = capacity_hint  # length of the previous sequence: allocate once
        self.data: torch.Tensor | None = None  # [P, capacity, Q]
        self.offset = 0  # logical index of data[:, 0] (a window engine may drop its oldest past)
        self.n = 0  # number of stored states
        self.shape: torch.Size | None = None
        self.per_neuron = False
        # the caller passes (and takes back) the [P, Q] layout itself; it may pass one row [1, Q]
        # for all P weight rows (several kernels over the same past): it is written to each
        self.rows = False
        self.recorded = False  # some step is part of an autograd graph: keep all data
        self.chain: torch.Tensor | None = None
        # current block
        self.block_start = 0
        self.block_size = BLOCK
        self.block_weights: torch.Tensor | None = None
        self.block_rows: torch.Tensor | None = None  # block_weights as [P, 1, R]
        self.far: torch.Tensor | None = None
        # weights for the current capacity, reversed: r[:, R - k] = omega_k
        self.weights: torch.Tensor | None = None
        self.weights_have_graph = False  # computed with grad enabled (so they may carry α's graph)
        # backward accumulators
        self.task = None
        self.grad: torch.Tensor | None = None
        self.block_grad: torch.Tensor | None = None
        self.weight_grads: dict[int, torch.Tensor] = {}
        self.first_step_of: dict[int, int] = {}

    def snapshot(self) -> "History":
        """The same past and block state without any autograd graph: for copies and pickles, which
        then continue the sequence with exactly the same arithmetic."""
        copy = History(self.window, self.capacity_hint)
        for name in ("data", "offset", "n", "shape", "per_neuron", "rows", "block_start", "block_size", "far"):
            setattr(copy, name, getattr(self, name))
        if self.weights is not None:
            copy.weights = self.weights.detach()
            if self.block_weights is self.weights:
                copy.block_weights, copy.block_rows = copy.weights, copy.weights.unsqueeze(1)
        return copy

    # ------------------------------------------------------------- layout
    def to_layout(self, u: torch.Tensor) -> torch.Tensor:
        """[batch, *features] -> [P, Q]."""
        if self.rows:
            return u
        if self.per_neuron:
            return u.reshape(u.shape[0], -1).t()
        return u.reshape(1, -1)

    def from_layout(self, x: torch.Tensor) -> torch.Tensor:
        """[P, Q] (or [P, 1, Q]) -> [batch, *features]."""
        if self.rows:
            return x if x.dim() == 2 else x.reshape(x.shape[0], -1)
        if self.per_neuron:
            return x.reshape(x.shape[0], -1).t().reshape(self.shape)
        return x.reshape(self.shape)

    def columns(self, start: int, stop: int) -> torch.Tensor:
        """Stored states with logical indices start..stop-1, shape [P, stop-start, Q]."""
        return self.data[:, start - self.offset : stop - self.offset, :]

    def lowest_needed(self, m0: int) -> int:
        """Oldest logical index the far part of the block starting at m0 reads."""
        return 0 if self.window is None else max(0, m0 - self.window)

    # ------------------------------------------------------------- growth
    def ensure_capacity(self, entries: int, like: torch.Tensor, P: int, Q: int) -> None:
        """Make room for logical indices < ``entries``."""
        if self.data is None:
            capacity = max(self.capacity_hint, entries)
            self.data = like.new_empty((P, capacity, Q))
            return
        needed = entries - self.offset
        if needed <= self.data.shape[1]:
            return
        if self.window is not None and not self.recorded:
            # Nothing will differentiate through the old past: drop what the window no longer reads.
            keep_from = self.lowest_needed(self.n) - self.offset
            if keep_from > 0:
                self.data = self.data[:, keep_from:, :].clone()
                self.offset += keep_from
                needed = entries - self.offset
                if needed <= self.data.shape[1]:
                    return
        grown = like.new_empty((P, max(2 * self.data.shape[1], needed), Q))
        grown[:, : self.n - self.offset, :] = self.data[:, : self.n - self.offset, :]
        self.data = grown


def _hankel(r: torch.Tensor, m0: int, lo: int, block: int) -> torch.Tensor:
    """H[:, i', jj] = r[:, R - m0 - block + 1 + i' + lo + jj]  (shape [P, block, m0 - lo]).

    Row i' = block-1-i holds the weights ω_{m0+i-j} of u_j (j = lo + jj) for step m0 + i.
    """
    R = r.shape[1]
    base = R - m0 - block + 1 + lo
    return r[:, base : base + block + m0 - lo - 1].unfold(1, m0 - lo, 1)


def _start_block(hist: History, r: torch.Tensor, m0: int) -> None:
    """Far part of steps m0 .. m0+B-1 from the states j < m0, one matrix product.

    ``hist.far`` keeps the Hankel row order: step m0 + i reads row B-1-i.
    """
    lo = hist.lowest_needed(m0)
    H = _hankel(r, m0, lo, hist.block_size)
    # [P, block, 1, Q]: a step reads its far part as one [P, 1, Q] row and adds the near part
    # onto it with a single baddbmm (few kernel launches per step: the loop is latency-bound).
    hist.far = torch.bmm(H, hist.columns(lo, m0)).unsqueeze(2)
    hist.block_start = m0
    hist.block_weights = r
    hist.block_rows = r.unsqueeze(1)


def starts_block(hist: History, m: int) -> bool:
    """Does step m (the m-th stored state) open a new block?"""
    return hist.block_start == 0 or m - hist.block_start >= hist.block_size


def lags_needed(hist: History, m: int) -> int:
    """Length R of the reversed weights a block starting at step m reads."""
    if hist.window is None:
        return m + hist.block_size - 1
    return hist.window + hist.block_size


def _single_step(hist: History, u: torch.Tensor, r: torch.Tensor, m: int) -> torch.Tensor:
    """Blocks of one step (few columns, the loop is latency-bound): every step is its own block
    and its far part is the whole sum — the block's Hankel row is a slice of r, used as it is.
    Returns [P, Q]; the bookkeeping is :func:`_start_block`'s with B = 1 (so is the backward)."""
    hist.ensure_capacity(m, u, r.shape[0], u.shape[1])
    off = hist.offset
    hist.data[:, m - 1 - off] = u
    hist.n = hist.block_start = m
    if r is not hist.block_weights:
        hist.block_weights, hist.block_rows = r, r.unsqueeze(1)
    lo = hist.lowest_needed(m)
    R = r.shape[1]
    if u.shape[0] == 1 < r.shape[0]:  # one past row for several kernels: a matrix product, not P
        return torch.mm(r[:, R - m + lo : R], hist.data[0, lo - off : m - off])
    return torch.bmm(hist.block_rows[:, :, R - m + lo : R], hist.columns(lo, m)).squeeze(1)


def history_correction(hist: History, u_prev: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """Append u_prev and return y_m = Σ_{k=1}^{m} ρ_k x_{m-k} (m = stored values), [P, 1, Q] or [P, Q]."""
    m = hist.n + 1
    u = hist.to_layout(u_prev)
    if hist.block_size == 1:
        return _single_step(hist, u, r, m)
    new_block = starts_block(hist, m) or r is not hist.block_weights
    if new_block:
        hist.ensure_capacity(m + hist.block_size - 1, u, r.shape[0], u.shape[1])
    hist.data[:, m - 1 - hist.offset] = u
    hist.n = m
    if new_block:
        _start_block(hist, r, m)
    m0 = hist.block_start
    c = hist.far[:, hist.block_size - 1 - (m - m0)]
    if m > m0:
        R = r.shape[1]
        c = torch.baddbmm(c, hist.block_rows[:, :, R - m + m0 : R], hist.columns(m0, m))
    return c


class _HistoryStep(torch.autograd.Function):
    """One step of the history: (chain, u_prev, r) -> (c_m, chain)."""

    @staticmethod
    def forward(ctx, chain, u_prev, r, hist):
        c = history_correction(hist, u_prev, r)
        ctx.hist = hist
        ctx.m = hist.n
        ctx.m0 = hist.block_start
        ctx.r = r
        key = id(r)
        if key not in hist.first_step_of:
            hist.first_step_of[key] = ctx.m
        ctx.returns_weight_grad = hist.first_step_of[key] == ctx.m
        return hist.from_layout(c), u_prev.new_empty(0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_c, _grad_chain):
        hist: History = ctx.hist
        m, m0, r = ctx.m, ctx.m0, ctx.r
        P, R = r.shape
        need_r = ctx.needs_input_grad[2]
        task = _graph_task()
        if hist.task != task:  # a new backward pass: restart the accumulators
            hist.task = task
            hist.grad = torch.zeros_like(hist.data)
            hist.block_grad = None
            hist.weight_grads = {}
        if hist.grad.shape[1] < hist.data.shape[1]:
            hist.grad = torch.cat([hist.grad, torch.zeros_like(hist.data[:, hist.grad.shape[1] :])], 1)
        G = hist.grad
        off = hist.offset
        g = hist.to_layout(grad_c)
        if need_r:
            key = id(r)
            grad_r = hist.weight_grads.get(key)
            if grad_r is None:
                grad_r = hist.weight_grads[key] = torch.zeros_like(r)
        if m > m0:  # near part, immediately
            G[:, m0 - off : m - off, :].baddbmm_(r[:, R - m + m0 : R].unsqueeze(2), g.unsqueeze(1))
            if need_r:
                grad_r[:, R - m + m0 : R] += torch.bmm(g.unsqueeze(1), hist.columns(m0, m).transpose(1, 2)).squeeze(1)
        if hist.block_grad is None or hist.block_grad.shape != (P, hist.block_size, g.shape[1]):
            hist.block_grad = g.new_zeros((P, hist.block_size, g.shape[1]))
        hist.block_grad[:, hist.block_size - 1 - (m - m0), :] = g  # Hankel row order, like ``far``
        if m == m0:  # first step of its block: flush the block's far part
            lo = hist.lowest_needed(m0)
            H = _hankel(r, m0, lo, hist.block_size)
            Gf = hist.block_grad
            G[:, lo - off : m0 - off, :].baddbmm_(H.transpose(1, 2), Gf)
            if need_r:
                M = torch.bmm(Gf, hist.columns(lo, m0).transpose(1, 2))  # [P, block, m0 - lo]
                base = R - m0 - hist.block_size + 1 + lo
                rows = torch.arange(hist.block_size, device=r.device).unsqueeze(1)
                cols = torch.arange(m0 - lo, device=r.device).unsqueeze(0)
                grad_r.index_add_(1, (base + rows + cols).flatten(), M.reshape(P, -1))
            hist.block_grad.zero_()
        grad_u = hist.from_layout(G[:, m - 1 - off, :]) if ctx.needs_input_grad[1] else None
        grad_weights = None
        if need_r and ctx.returns_weight_grad:
            grad_weights = hist.weight_grads.pop(id(r))
        grad_chain = grad_c.new_zeros(0) if ctx.needs_input_grad[0] else None
        if m == 1:  # the pass is complete: free the accumulators now, not at the next pass
            hist.grad = hist.block_grad = None
            hist.weight_grads = {}
            hist.task = None
        return grad_chain, grad_u, grad_weights, None


def step(hist: History, u_prev: torch.Tensor, weights_for) -> torch.Tensor:
    """Append ``u_prev`` (x_{m-1}, shape [batch, *features]) and return y_m = Σ_{k=1}^{m} ρ_k x_{m-k}
    in the same shape, recorded for autograd when anything needs it.

    ``weights_for(R)`` returns reversed weights [P, R'] (R' >= R; r[:, R'-k] = ρ_k, P = 1 or one row
    per feature when ``hist.per_neuron``); it is called only when a block starts and the current
    weights are too short. With ``hist.window = L`` the caller's ρ must vanish beyond lag L.
    """
    m = hist.n + 1
    # Weights computed under no_grad carry no graph to α: a sequence that continues with grad
    # enabled needs them again (a new block starts there, as after detach).
    regraph = torch.is_grad_enabled() and hist.weights is not None and not hist.weights_have_graph
    if starts_block(hist, m) or regraph:
        R = lags_needed(hist, m)
        if hist.weights is None or hist.weights.shape[1] < R or regraph:
            hist.weights = weights_for(R)
            hist.weights_have_graph = torch.is_grad_enabled()
    r = hist.weights
    needs_graph = torch.is_grad_enabled() and (
        u_prev.requires_grad or r.requires_grad or (hist.chain is not None and hist.chain.requires_grad)
    )
    if not needs_graph:
        return hist.from_layout(history_correction(hist, u_prev, r))
    chain = hist.chain if hist.chain is not None else u_prev.new_empty(0)
    c, hist.chain = _HistoryStep.apply(chain, u_prev, r, hist)
    hist.recorded = True
    return c
