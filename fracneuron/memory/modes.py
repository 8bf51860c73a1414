r"""A causal convolution whose kernel is exact for a few lags and a sum of exponentials beyond.

The primitive behind the ``soe`` engine. Each step appends x_{m-1} (shape ``[batch, *features]``)
and returns

    y_m = Σ_{k=1}^{m} ρ_k x_{m-k},     ρ_k given for k < k0 + L,     ρ_k = Σ_{q=1}^{K} a_q λ_q^{k-k0-1} (k > k0)

(the caller makes ρ_k for k0 < k < k0 + L equal to the exponential tail, so every lag sees one
kernel) with fixed decays λ_q = e^{−s_q} and amplitudes a_q, one set per layer or one per
neuron. Lags beyond k0 live in K *modes* M_q = Σ_{k>k0} λ_q^{k-k0-1} x_{m-k} per neuron: the
state is K modes plus a buffer of k0 + 4L recent states per neuron (and the L-step far part of the
current block), whatever the length of the sequence.

Blocks (chunked recurrence). Steps are grouped in blocks of L; the block starting at step m0 has

    y_{m0+i} = Σ_q a_q λ_q^i M_q(m0) + Σ_{j=m0-k0}^{m0-1} ρ_{m0+i-j} x_j   +   Σ_{j=m0}^{m0+i-1} ρ_{m0+i-j} x_j
               └── far: two GEMMs per block, [L,K]×[K,N] and [L,k0]×[k0,N] ──┘   └── inner: i ≤ L−1 lags ─┘
    M(m0+L)  = λ^L ⊙ M(m0) + Σ_{l=0}^{L-1} λ^{L-1-l} x_{m0-k0+l}            (one [K,L]×[L,N] GEMM)

(M(1) = 0, x_j = 0 for j < 0): the K modes and the k0 exact lags are touched once per block in
large matrix products; per step only the inner sum over the block's own past (on average
(L − 1)/2 states) remains.

Autograd. Each step is one :class:`_ModeStep` node with inputs ``(chain, x_prev, inner, head,
amp)``, ordered by empty ``chain`` tensors as in :mod:`fracneuron.memory.history`. The backward
runs the same recurrence backward in time (the adjoint of a causal convolution is the
anti-causal one):

    Ā(m0) = Λᵀ ḡ_block + λ^L ⊙ Ā(m0+L),     ∂L/∂M(m0) = a ⊙ Ā(m0),
    ∂L/∂x_j += (chunk that built M(m0))ᵀ (a ⊙ Ā(m0)) + Hᵀ ḡ_block + inner terms,
    ∂L/∂a   = Σ_blocks ⟨chunk sum, Ā(m0)⟩  (+ ⟨M_init, Ā⟩ for the first recorded block)

with a sliding window of 2L + k0 gradient rows and no per-step mode states. Without a gradient
for the weights (fixed α) forward and backward memory are independent of T; only a gradient for
the weights (learnable α) needs the past inputs, and then every x_j is kept once, O(T·N), like the
``exact`` engine.

Layouts: states are stored flat, ``[rows, Q]`` with Q = batch·features; weights are
``inner [L−1, P]`` (reversed: inner[L−1−k] = ρ_k), ``head [L, k0, P]`` (head[i, l] =
ρ_{i+k0−l}, the Hankel table of the k0 lags before a block) and ``amp [K, P]``, with P = 1 (one
kernel per layer) or P = features (one per neuron, broadcast over the batch).
"""

from __future__ import annotations

import torch

from .history import _graph_task

__all__ = ["ModeConvolution", "step"]


class _Backward:
    """Accumulators of one backward pass: a sliding window of input gradients, the gradients of
    the current block's outputs, and the adjoint modes."""

    def __init__(self, conv: "ModeConvolution", m0: int) -> None:
        L, k0 = conv.block, conv.head
        like = conv.modes
        self.task = _graph_task()
        self.lo = m0 - L - k0  # logical index of window row 0
        self.window = like.new_zeros((2 * L + k0, like.shape[1]))
        self.spare = torch.empty_like(self.window)
        self.block_grad = like.new_zeros((L, like.shape[1]))
        self.adjoint = torch.zeros_like(like)  # Ā at the start of the block after the current one
        self.next_adjoint = torch.empty_like(like)
        self.grads: list[torch.Tensor] | None = None  # for inner, head, amp

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.window[start - self.lo : stop - self.lo]

    def slide(self, L: int) -> None:
        """Move the window L steps back in time."""
        keep = self.window.shape[0] - L
        self.spare[L:].copy_(self.window[:keep])
        self.spare[:L].zero_()
        self.window, self.spare = self.spare, self.window
        self.lo -= L


class ModeConvolution:
    """State of one sequence: the modes, the last states, and the decay tables.

    Args:
        rates: the s_q (float64, shape [K]); λ_q = e^{−s_q}.
        head: k0 ≥ 1, the lags before a block that are summed exactly.
        block: L ≥ 1, steps per block.
        shape, dtype, device: of the state x (``[batch, *features]``).

    Every buffer is allocated once per sequence and updated in place: fresh multi-megabyte
    temporaries each block make the CPU allocator return and re-fault pages, which costs more
    than the arithmetic.
    """

    def __init__(self, rates: torch.Tensor, head: int, block: int, shape: torch.Size, dtype, device) -> None:
        if head < 1 or block < 1:
            raise ValueError(f"head and block must be >= 1, got {head}, {block}")
        self.head, self.block = head, block
        self.shape = shape
        B, F = shape[0], max(1, shape[1:].numel())
        self.batch, self.features = B, F
        K, L = rates.numel(), block
        self.rates = rates
        # Decay tables in float64, then cast: λ^i for small rates must not lose digits.
        s = rates.to(device=device, dtype=torch.float64)
        i = torch.arange(L, dtype=torch.float64, device=device)
        self.powers = torch.exp(-i[:, None] * s[None, :]).to(dtype)  # [L, K]: λ_q^i
        self.chunk = torch.exp(-(L - 1 - i)[None, :] * s[:, None]).to(dtype)  # [K, L]: λ_q^{L-1-l}
        self.decay = torch.exp(-L * s).to(dtype).reshape(K, 1)  # λ^L
        self.modes = torch.zeros((K, B * F), dtype=dtype, device=device)  # M(block_start)
        self.scratch: torch.Tensor | None = None  # a ⊙ M, a ⊙ Ā (one kernel per neuron only)
        self.far = torch.zeros((L, B * F), dtype=dtype, device=device)  # far part of the block
        # Stored states: logical index j <-> row j - offset; rows j < 0 are zero.
        self.offset = 1 - head
        self.data = torch.zeros((head + 4 * L, B * F), dtype=dtype, device=device)
        self.n = 0  # stored states (= steps done)
        self.block_start = 0
        self.keep_all = False  # the backward needs every past state (weights need a gradient)
        self.inner: torch.Tensor | None = None
        self.inner_ascending: torch.Tensor | None = None
        self.head_table: torch.Tensor | None = None
        self.amp: torch.Tensor | None = None
        # autograd bookkeeping
        self.first_recorded: int | None = None
        self.initial_modes: torch.Tensor | None = None
        self.backward_state: _Backward | None = None

    @property
    def per_neuron(self) -> bool:
        return self.amp.shape[-1] > 1

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.data[start - self.offset : stop - self.offset]

    def set_weights(self, near: torch.Tensor, amp: torch.Tensor) -> None:
        """Set the kernel from ρ_1..ρ_{k0+L−1} (reversed: ``near[W−k] = ρ_k``, shape [W, P]) and
        a ([K, P]); both may require grad (the tables are built from them differentiably)."""
        k0, L = self.head, self.block
        if near.shape[0] != k0 + L - 1 or amp.shape[0] != self.modes.shape[0]:
            raise ValueError(f"need near [{k0 + L - 1}, P] and amp [{self.modes.shape[0]}, P]")
        self.inner = near[k0:]  # ρ_{L-1} … ρ_1
        self.inner_ascending = self.inner.detach().flip(0)  # ρ_1 … ρ_{L-1}, for the backward
        self.head_table = near.unfold(0, k0, 1).flip(0).transpose(1, 2)  # [L, k0, P]
        self.amp = amp
        if self.per_neuron and self.scratch is None:
            self.scratch = torch.empty_like(self.modes)
        if self.block_start > 0:  # continuing mid-block (after detach or a move): redo the far part
            self._far()

    def fresh(self) -> "ModeConvolution":
        """A new sequence (no past, no autograd bookkeeping) with this kernel, detached. Run on
        gradients backward in time it applies the adjoint: Σ_k ρ_k ḡ_{j+k} is the same causal
        convolution in reversed time."""
        new = ModeConvolution(self.rates, self.head, self.block, self.shape, self.modes.dtype, self.modes.device)
        new.inner, new.inner_ascending = self.inner.detach(), self.inner_ascending
        new.head_table, new.amp = self.head_table.detach(), self.amp.detach()
        if new.per_neuron:
            new.scratch = torch.empty_like(new.modes)
        return new

    def continued(self, fn) -> "ModeConvolution":
        """The same past with ``fn`` applied (a dtype/device move, or identity for ``detach``),
        fresh autograd bookkeeping and no weights (set them again)."""
        data = fn(self.data)
        new = ModeConvolution(self.rates, self.head, self.block, self.shape, data.dtype, data.device)
        new.data = data.clone()  # an old graph may still read the old buffers in its backward
        new.modes = fn(self.modes).clone()
        new.offset, new.n, new.block_start = self.offset, self.n, self.block_start
        return new

    # ------------------------------------------------------- weighted sums
    def _neurons(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], self.batch, self.features)

    def _start_block(self, previous: int) -> None:
        """Fold the chunk that left the previous block's window into the modes (previous > 0) and
        compute the block's far part, far[i] = Σ_q a_q λ_q^i M_q(m0) + Σ_l head[i, l] x_{m0−k0+l}."""
        m0, k0, L = self.block_start, self.head, self.block
        amp, table, before = self.amp.detach(), self.head_table.detach(), self.rows(m0 - k0, m0)
        if previous > 0:
            self.modes.mul_(self.decay).addmm_(self.chunk, self.rows(previous - k0, previous - k0 + L))
        if self.per_neuron:
            torch.mul(self._neurons(self.modes), amp.unsqueeze(1), out=self._neurons(self.scratch))
            torch.mm(self.powers, self.scratch, out=self.far)
            self._neurons(self.far).add_(torch.einsum("ilf,lbf->ibf", table, self._neurons(before)))
        else:  # one kernel per layer: fold a into the [L, K] table
            torch.mm(self.powers * amp.reshape(1, -1), self.modes, out=self.far)
            self.far.addmm_(table[:, :, 0], before)

    def _far(self) -> None:
        """The far part of the current block (after a change of weights mid-block)."""
        self._start_block(0)

    def _inner_sum(self, i: int, m: int) -> torch.Tensor:
        """y_m = far[i] + Σ_{j=m0}^{m-1} ρ_{m-j} x_j (flat [Q])."""
        if i == 0:
            return self.far[0].clone()
        weights, x = self.inner[self.block - 1 - i :].detach(), self.rows(m - i, m)
        if self.per_neuron:
            return torch.einsum("nf,nbf->bf", weights, self._neurons(x)).reshape(-1).add_(self.far[i])
        return torch.addmv(self.far[i], x.t(), weights[:, 0])  # not a one-row mm: slow on CPU

    # ---------------------------------------------------------------- forward
    def _make_room(self, m0: int, keep_from: int) -> None:
        """Room for the states m0 − 1 … m0 + L − 2 this block stores; states < keep_from are not
        read again (unless every state is kept for the weights' gradient)."""
        needed = m0 + self.block - 1 - self.offset
        if needed <= self.data.shape[0]:
            return
        if self.keep_all:
            grown = self.data.new_empty((max(2 * self.data.shape[0], needed), self.data.shape[1]))
            grown[: self.n - self.offset] = self.data[: self.n - self.offset]
            self.data = grown
            return
        live = self.rows(keep_from, self.n)
        start = keep_from - self.offset
        self.data[: live.shape[0]] = live if start >= live.shape[0] else live.clone()
        self.offset = keep_from

    def forward_step(self, x_prev: torch.Tensor) -> torch.Tensor:
        """Append x_{m-1} and return y_m (same shape)."""
        m = self.n + 1
        new_block = self.block_start == 0 or m - self.block_start >= self.block
        if new_block:
            previous, self.block_start = self.block_start, m
            # keep the chunk of the previous block that joins the modes now, and the head
            self._make_room(m, (previous if previous > 0 else m) - self.head)
        self.data[m - 1 - self.offset] = x_prev.reshape(-1)
        self.n = m
        if new_block:  # the head of the block ends with x_{m-1}: now stored
            self._start_block(previous)
        return self._inner_sum(m - self.block_start, m).reshape(self.shape)

    # --------------------------------------------------------------- backward
    def backward_step(self, m: int, m0: int, grad_y: torch.Tensor, need_x: bool, need_weights: bool):
        """Step m's share of the backward pass; returns (∂L/∂x_{m-1}, ∂L/∂inner, ∂L/∂head, ∂L/∂amp)."""
        L = self.block
        state = self.backward_state
        if state is None or state.task != _graph_task():
            state = self.backward_state = _Backward(self, m0)
        if need_weights and state.grads is None:
            state.grads = [torch.zeros_like(self.inner), torch.zeros_like(self.head_table), torch.zeros_like(self.amp)]
        g = grad_y.reshape(-1)
        i = m - m0
        state.block_grad[i] = g
        if need_weights and i > 0:  # ∂L/∂ρ_k += ⟨ḡ_m, x_{m−k}⟩ over the inner lags
            state.grads[0][L - 1 - i :] += self._weighted_dot(self.rows(m - i, m), g.unsqueeze(0))[:, 0]
        first = m == self.first_recorded
        flush = m == m0 or first
        if flush:
            self._flush_block(state, m0, first, need_weights)
        grad_x = self._input_grad(state, m, i) if need_x else None
        if flush:
            state.slide(L)
        if not first:
            return grad_x, None, None, None
        self.backward_state = None  # the pass is complete: free the accumulators now
        grads = state.grads or [None, None, None]
        return grad_x, *grads

    def _input_grad(self, state: _Backward, m: int, i: int) -> torch.Tensor:
        """∂L/∂x_{m-1}: what the window collected (head and mode terms) plus the inner terms of the
        block's later steps, gathered: Σ_{i'=i}^{L-1} ρ_{i'-i+1} ḡ_{m0+i'} (a read, not a scatter)."""
        row = state.rows(m - 1, m)[0]
        if i == 0:  # x_{m0-1} is a head state of its block, not an inner one
            return row.clone().reshape(self.shape)
        weights, later = self.inner_ascending[: self.block - i], state.block_grad[i:]
        if self.per_neuron:
            grad = torch.einsum("nf,nbf->bf", weights, self._neurons(later)).reshape(-1).add_(row)
        else:
            grad = torch.addmv(row, later.t(), weights[:, 0])
        return grad.reshape(self.shape)

    def _weighted_dot(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Σ over the batch (and the neurons, one kernel per layer) of a[r] ⊙ b[c] -> [R, C, P]
        (a [R, Q], b [C, Q]): the gradient of a weight that carries a's state into b's output."""
        if self.per_neuron:
            return torch.einsum("rbf,cbf->rcf", self._neurons(a), self._neurons(b))
        return (a @ b.t()).unsqueeze(-1)

    def _flush_block(self, state: _Backward, m0: int, first: bool, need_weights: bool) -> None:
        """Adjoint of the block's far part and of the chunk that built M(m0):
        ∂L/∂x (head) += headᵀ ḡ;  Ā(m0) = Λᵀ ḡ + λ^L ⊙ Ā(m0+L);  ∂L/∂x (chunk) += chunkᵀ (a ⊙ Ā(m0))."""
        L, k0 = self.block, self.head
        amp, table = self.amp.detach(), self.head_table.detach()
        G = state.block_grad  # every row is written by its step before the flush, except
        if first:  # rows of unrecorded steps before the first recorded one: stale, clear them
            G[: self.first_recorded - m0].zero_()
        before = state.rows(m0 - k0, m0)
        if self.per_neuron:
            self._neurons(before).add_(torch.einsum("ilf,ibf->lbf", table, self._neurons(G)))
        else:
            before.addmm_(table[:, :, 0].t(), G)
        adjoint, previous = state.next_adjoint, state.adjoint
        torch.mm(self.powers.t(), G, out=adjoint)
        adjoint.addcmul_(self.decay, previous)
        lo = m0 - L - k0  # the chunk of states lo … lo + L − 1 built M(m0)
        chunk_grad = None if first else state.rows(lo, lo + L)  # first: M(m0) is a constant
        if chunk_grad is not None and self.per_neuron:
            torch.mul(self._neurons(adjoint), amp.unsqueeze(1), out=self._neurons(self.scratch))
            chunk_grad.addmm_(self.chunk.t(), self.scratch)
        elif chunk_grad is not None:  # fold a into the [L, K] table
            chunk_grad.addmm_(self.chunk.t() * amp.reshape(1, -1), adjoint)
        if need_weights:
            state.grads[1] += self._weighted_dot(G, self.rows(m0 - k0, m0))
            if chunk_grad is not None:
                state.grads[2] += self._mode_dot(self.chunk @ self.rows(lo, lo + L), adjoint)
            elif self.initial_modes is not None:
                state.grads[2] += self._mode_dot(self.initial_modes, adjoint)
        state.adjoint, state.next_adjoint = adjoint, previous

    def _mode_dot(self, modes: torch.Tensor, adjoint: torch.Tensor) -> torch.Tensor:
        """Σ over the batch (and neurons, one kernel per layer) of modes ⊙ adjoint -> [K, P]."""
        if self.per_neuron:
            return (self._neurons(modes) * self._neurons(adjoint)).sum(1)
        return (modes * adjoint).sum(1, keepdim=True)


class _ModeStep(torch.autograd.Function):
    """One step: (chain, x_prev, inner, head, amp) -> (y_m, chain)."""

    @staticmethod
    def forward(ctx, chain, x_prev, inner, head, amp, conv):
        y = conv.forward_step(x_prev)
        ctx.conv, ctx.m, ctx.m0 = conv, conv.n, conv.block_start
        if conv.n == conv.first_recorded and conv.n > 1 and conv.keep_all:
            # M(m0) of the first recorded step is a constant of the graph; ∂/∂amp reads it
            conv.initial_modes = conv.modes.clone()
        return y, x_prev.new_empty(0)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, _grad_chain):
        need_weights = any(ctx.needs_input_grad[2:5])
        grad_x, *grad_weights = ctx.conv.backward_step(ctx.m, ctx.m0, grad_y, ctx.needs_input_grad[1], need_weights)
        grad_chain = grad_y.new_zeros(0) if ctx.needs_input_grad[0] else None
        return grad_chain, grad_x, *grad_weights, None


def step(conv: ModeConvolution, x_prev: torch.Tensor, chain: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Append ``x_prev`` and return ``(y_m, chain)``, recorded for autograd when anything needs it.

    The weights must be set (:meth:`ModeConvolution.set_weights`; they may require grad).
    ``chain`` is the previous step's (``None`` at first); the caller keeps it, not ``conv``: the
    graph references ``conv``, so ``conv`` holding the graph would make a cycle that outlives the
    sequence.
    """
    weights = (conv.inner, conv.head_table, conv.amp)
    needs_graph = torch.is_grad_enabled() and (
        x_prev.requires_grad or any(w.requires_grad for w in weights) or (chain is not None and chain.requires_grad)
    )
    if not needs_graph:
        return conv.forward_step(x_prev), chain
    if conv.first_recorded is None:
        conv.first_recorded = conv.n + 1
        conv.keep_all = any(w.requires_grad for w in weights)
    if chain is None:
        chain = x_prev.new_empty(0)
    return _ModeStep.apply(chain, x_prev, *weights, conv)
