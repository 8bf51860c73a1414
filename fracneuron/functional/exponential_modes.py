r"""A causal convolution whose kernel is exact for a few lags and a sum of exponentials beyond.

The kernel behind the ``soe`` engine. Each step appends x_{m-1} (shape ``[batch, *features]``)
and returns

    y_m = Σ_{k=1}^{m} ρ_k x_{m-k},     ρ_k given for k < k0 + L,     ρ_k = Σ_{q=1}^{K} a_q λ_q^{k-k0-1} (k > k0)

(the caller makes ρ_k for k0 < k < k0 + L equal to the exponential tail, so every lag sees one
kernel) with fixed decays λ_q = e^{−s_q} and amplitudes a_q, one set per layer or one per
neuron. Lags beyond k0 live in K *modes* M_q = Σ_{k>k0} λ_q^{k-k0-1} x_{m-k} per neuron: the
state is K modes plus a buffer of k0 + 4L recent states per neuron (and the L-step far part of the
current block), whatever the length of the sequence.

Blocks (chunked recurrence). Steps are grouped in blocks of L, starting at steps 1, 1 + L, …; the
block starting at step m0 has

    y_{m0+i} = Σ_q a_q λ_q^i M_q(m0) + Σ_{j=m0-k0}^{m0-1} ρ_{m0+i-j} x_j   +   Σ_{j=m0}^{m0+i-1} ρ_{m0+i-j} x_j
               └── far: two GEMMs per block, [L,K]×[K,N] and [L,k0]×[k0,N] ──┘   └── inner: i ≤ L−1 lags ─┘
    M(m0+L)  = λ^L ⊙ M(m0) + Σ_{l=0}^{L-1} λ^{L-1-l} x_{m0-k0+l}            (one [K,L]×[L,N] GEMM)

(M(1) = 0, x_j = 0 for j < 0): the K modes and the k0 exact lags are touched once per block in
large matrix products; per step only the inner sum over the block's own past remains.

Explicit, persistent state. A :class:`ModeConvolution` is a handle on one sequence: the modes
M(m0) and the far part of its block (new tensors at every block start, never written after), and
the recent states in a :class:`~fracneuron.functional.stored_history.PastStore` (append-only,
copy-on-write). :meth:`ModeConvolution.fork` is O(1): a state handed out stays what it was
whatever either copy does next.

Autograd without shared state. Each recorded step is one :class:`_ModeStep` node with inputs
``(chain, x_prev, inner, head, amp)`` and outputs ``(y_m, chain')``. The *gradient* of ``chain'``
is the backward pass's working memory, handed from step to step through autograd: a window of
2L + k0 input-gradient rows (two copies, alternating by block, so sliding it back in time needs no
allocation), the current block's output gradients, the adjoint modes and a scratch row block. The
backward runs the recurrence backward in time (the adjoint of a causal convolution is the
anti-causal one):

    Ā(m0) = Λᵀ ḡ_block + λ^L ⊙ Ā(m0+L),     ∂L/∂M(m0) = a ⊙ Ā(m0),
    ∂L/∂x_j += (chunk that built M(m0))ᵀ (a ⊙ Ā(m0)) + Hᵀ ḡ_block + inner terms,
    ∂L/∂a   = Σ_blocks ⟨chunk sum, Ā(m0)⟩  (+ ⟨M_init, Ā⟩ for the first recorded block)

Without a gradient for the weights (fixed α) forward and backward memory are independent of T;
only a gradient for the weights (learnable α) needs the past inputs, and then every x_j is kept
once, O(T·N), like the ``exact`` engine.

Layouts: states are stored flat, ``[rows, Q]`` with Q = batch·features; weights are
``inner [L−1, P]`` (reversed: inner[L−1−k] = ρ_k), ``head [L, k0, P]`` (head[i, l] =
ρ_{i+k0−l}, the Hankel table of the k0 lags before a block) and ``amp [K, P]``, with P = 1 (one
kernel per layer) or P = features (one per neuron: :mod:`fracneuron.functional.per_neuron`)."""

from __future__ import annotations

import copy

import torch

from .per_neuron import add_table, pair_sums, weighted_rows
from .past_store import PastStore

__all__ = ["ModeConvolution", "step"]


class ModeConvolution:
    """State of one sequence: the modes, the last states, and the decay tables.

    Args:
        rates: the s_q (float64, shape [K]); λ_q = e^{−s_q}.
        head: k0 ≥ 1, the lags before a block that are summed exactly.
        block: L ≥ 1, steps per block.
        shape, dtype, device: of the state x (``[batch, *features]``).
    """

    def __init__(self, rates: torch.Tensor, head: int, block: int, shape: torch.Size, dtype, device) -> None:
        if head < 1 or block < 1:
            raise ValueError(f"head and block must be >= 1, got {head}, {block}")
        self.head, self.block = head, block
        self.shape = shape
        B, F = shape[0], shape[1:].numel()
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
        self.far: torch.Tensor | None = None  # [L, Q]: the far part of the current block
        # no other handle reads modes/far (store): in place (move into ``spare``), no fresh pages
        self.private = self.store_private = False
        self.spare: torch.Tensor | None = None
        # Stored states x_j (rows j < 0 are zero): what the current and the next block read
        self.store = PastStore(torch.zeros((head + 4 * L, B * F), dtype=dtype, device=device), 1 - head, 0, axis=0)
        self.n = 0  # stored states (= steps done)
        self.block_start = 0
        self.keep_all = False  # the backward needs every past state (weights need a gradient)
        self.inner: torch.Tensor | None = None
        self.inner_ascending: torch.Tensor | None = None
        self.head_table: torch.Tensor | None = None
        self.amp: torch.Tensor | None = None
        # autograd: the first recorded step, M at its block, and the last recorded step's link
        self.first_recorded: int | None = None
        self.initial_modes: torch.Tensor | None = None
        self.chain: torch.Tensor | None = None
        self.chain_block = 0  # block_start of the step that made ``chain``

    @property
    def per_neuron(self) -> bool:
        return self.amp.shape[-1] != 1  # one kernel per neuron (P = features; also P = 0 for an empty state)

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.store.rows(start, stop)

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
        if self.block_start > 0:  # continuing mid-block (after detach or a move): redo the far part
            self._start_block(0)

    # ------------------------------------------------------------- handles
    def fork(self) -> "ModeConvolution":
        """An independent handle on the same sequence (O(1): nothing it holds is written again)."""
        self.private = self.store_private = False  # both handles read them now
        self.spare = None
        return copy.copy(self)

    def fresh(self) -> "ModeConvolution":
        """A new sequence (no past, no autograd bookkeeping) with this kernel, detached. Run on
        gradients backward in time it applies the adjoint: Σ_k ρ_k ḡ_{j+k} is the same causal
        convolution in reversed time."""
        new = ModeConvolution(self.rates, self.head, self.block, self.shape, self.modes.dtype, self.modes.device)
        new.inner, new.inner_ascending = self.inner.detach(), self.inner_ascending
        new.head_table, new.amp = self.head_table.detach(), self.amp.detach()
        return new

    def continued(self, fn) -> "ModeConvolution":
        """The same past with ``fn`` applied (a dtype/device move, or identity for ``detach``),
        no autograd graph and no weights (set them again)."""
        lo = max(self.store.offset, (self.block_start or self.n + 1) - self.head)
        data = fn(self.rows(lo, self.n)).clone()
        new = ModeConvolution(self.rates, self.head, self.block, self.shape, data.dtype, data.device)
        new.store = PastStore(data, lo, self.n, axis=0)
        new.modes = fn(self.modes)
        new.n, new.block_start = self.n, self.block_start
        return new

    # ------------------------------------------------------- weighted sums
    def _neurons(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], self.batch, self.features)

    def _start_block(self, previous: int) -> None:
        """Fold the chunk that left the previous block's window into the modes (previous > 0) and
        compute the block's far part, far[i] = Σ_q a_q λ_q^i M_q(m0) + Σ_l head[i, l] x_{m0−k0+l}."""
        m0, k0, L = self.block_start, self.head, self.block
        amp, table, before = self.amp.detach(), self.head_table.detach(), self.rows(m0 - k0, m0)
        # in place if no other handle reads them (addmm_ adds as addmm: same values), else new
        if previous > 0:
            chunk_rows = self.rows(previous - k0, previous - k0 + L)
            if self.private:
                self.modes.mul_(self.decay).addmm_(self.chunk, chunk_rows)
            else:
                self.modes = torch.addmm(self.modes * self.decay, self.chunk, chunk_rows)
        out = self.far if self.private and self.far is not None else None
        if self.per_neuron:
            scaled = self._neurons(self.modes) * amp.unsqueeze(1)
            far = torch.mm(self.powers, scaled.reshape(scaled.shape[0], -1), out=out)
            add_table(self._neurons(far), table, self._neurons(before))
        else:  # one kernel per layer: fold a into the [L, K] table
            far = torch.mm(self.powers * amp.reshape(1, -1), self.modes, out=out)
            far.addmm_(table[:, :, 0], before)
        self.far = far
        self.private = previous > 0 or self.private  # (the first block's modes: the initial zeros)

    def _inner_sum(self, i: int, m: int) -> torch.Tensor:
        """y_m = far[i] + Σ_{j=m0}^{m-1} ρ_{m-j} x_j (flat [Q])."""
        if i == 0:
            return self.far[0].clone()
        weights, x = self.inner[self.block - 1 - i :].detach(), self.rows(m - i, m)
        if self.per_neuron:
            return weighted_rows(weights, self._neurons(x)).reshape(-1).add_(self.far[i])
        return torch.addmv(self.far[i], x.t(), weights[:, 0])  # not a one-row mm: slow on CPU

    # ---------------------------------------------------------------- forward
    def forward_step(self, x_prev: torch.Tensor) -> torch.Tensor:
        """Append x_{m-1} and return y_m (same shape)."""
        m = self.n + 1
        new_block = self.block_start == 0 or m - self.block_start >= self.block
        previous = self.block_start
        if new_block:
            self.block_start = m
        # rows still read: the chunk that joins the modes at this block's start (previous block),
        # or the current block's head and the chunk the next block folds in
        keep_from = (previous if new_block and previous > 0 else self.block_start) - self.head
        store, last = self.store, self.block_start + self.block - 1  # room for this block's states
        if not store.owned_by(self.n, last):
            lo = store.offset if self.keep_all else keep_from  # the weights' gradient reads them all
            recycle = self.store_private and not self.keep_all  # (keep_all: a backward holds it)
            moved = store.moved(self.n, lo, last, store.data, spare=self.spare if recycle else None)
            self.spare = store.data if recycle and moved.data is not store.data else None
            store, self.store, self.store_private = moved, moved, True
        store.data[m - 1 - store.offset] = x_prev.reshape(-1)
        store.claimed = self.n = m
        if new_block:  # the head of the block ends with x_{m-1}: now stored
            self._start_block(previous)
        return self._inner_sum(m - self.block_start, m).reshape(self.shape)


# --------------------------------------------------------------------------- backward
class _Accumulator:
    """Named views into the backward pass's working memory G (see the module docstring).

    G's rows: two windows of 2L + k0 input-gradient rows (window ``(m0 − 1) // L`` even: the
    first; the window of block m0 covers logical rows m0 − L − k0 … m0 + L − 1), the block's L
    output gradients, the adjoint Ā(m0 + L), the next adjoint and a scratch of K rows each."""

    def __init__(self, G: torch.Tensor, conv_info: "_Layout", m0: int) -> None:
        L, k0, K = conv_info.block, conv_info.head, conv_info.modes
        W = 2 * L + k0
        first = ((m0 - 1) // L) % 2 == 0
        self.window = G[:W] if first else G[W : 2 * W]
        self.other = G[W : 2 * W] if first else G[:W]
        rest = G[2 * W :]
        self.block_grad, self.adjoint = rest[:L], rest[L : L + K]
        self.next_adjoint, self.scratch = rest[L + K : L + 2 * K], rest[L + 2 * K : L + 3 * K]
        self.lo = m0 - L - k0  # logical index of window row 0

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.window[start - self.lo : stop - self.lo]

    def slide(self, L: int) -> None:
        """Move the window L steps back in time: the previous block's window is the other copy."""
        self.other[L:].copy_(self.window[:-L])
        self.other[:L].zero_()


class _Layout:
    """What a step's backward needs of its convolution (no buffers that later steps change)."""

    def __init__(self, conv: ModeConvolution) -> None:
        self.block, self.head, self.modes = conv.block, conv.head, conv.modes.shape[0]
        self.batch, self.features, self.shape = conv.batch, conv.features, conv.shape
        self.per_neuron = conv.per_neuron
        self.powers, self.chunk, self.decay = conv.powers, conv.chunk, conv.decay
        self.amp, self.head_table = conv.amp.detach(), conv.head_table.detach()
        self.inner_ascending = conv.inner_ascending
        self.first_recorded, self.initial_modes = conv.first_recorded, conv.initial_modes
        # the stored states, for the weights' gradient (kept whole when it is needed)
        self.store = conv.store if conv.keep_all else None
        self.dtype, self.device, self.columns = conv.modes.dtype, conv.modes.device, conv.modes.shape[1]

    def accumulator_rows(self) -> int:
        return 2 * (2 * self.block + self.head) + self.block + 3 * self.modes

    def neurons(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], self.batch, self.features)

    def rows(self, start: int, stop: int) -> torch.Tensor:
        return self.store.rows(start, stop)

    def weighted_dot(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Σ over the batch (and the neurons, one kernel per layer) of a[r] ⊙ b[c] -> [R, C, P]
        (a [R, Q], b [C, Q]): the gradient of a weight that carries a's state into b's output."""
        if self.per_neuron:
            return pair_sums(self.neurons(a), self.neurons(b))
        return (a @ b.t()).unsqueeze(-1)

    def mode_dot(self, modes: torch.Tensor, adjoint: torch.Tensor) -> torch.Tensor:
        """Σ over the batch (and neurons, one kernel per layer) of modes ⊙ adjoint -> [K, P]."""
        if self.per_neuron:
            return (self.neurons(modes) * self.neurons(adjoint)).sum(1)
        return (modes * adjoint).sum(1, keepdim=True)


def _flush_block(lay: _Layout, acc: _Accumulator, m0: int, first: bool, grads: list | None) -> None:
    """Adjoint of the block's far part and of the chunk that built M(m0):
    ∂L/∂x (head) += headᵀ ḡ;  Ā(m0) = Λᵀ ḡ + λ^L ⊙ Ā(m0+L);  ∂L/∂x (chunk) += chunkᵀ (a ⊙ Ā(m0)).
    ``first``: the block of the sequence's first recorded step, whose M(m0) is a constant."""
    L, k0 = lay.block, lay.head
    amp, table = lay.amp, lay.head_table
    G = acc.block_grad
    before = acc.rows(m0 - k0, m0)
    if lay.per_neuron:
        add_table(lay.neurons(before), table.transpose(0, 1), lay.neurons(G))
    else:
        before.addmm_(table[:, :, 0].t(), G)
    adjoint = acc.next_adjoint
    torch.mm(lay.powers.t(), G, out=adjoint)
    adjoint.addcmul_(lay.decay, acc.adjoint)
    acc.adjoint.copy_(adjoint)
    lo = m0 - L - k0  # the chunk of states lo … lo + L − 1 built M(m0)
    chunk_grad = None if first else acc.rows(lo, lo + L)  # first: M(m0) is a constant
    if chunk_grad is not None and lay.per_neuron:
        torch.mul(lay.neurons(adjoint), amp.unsqueeze(1), out=lay.neurons(acc.scratch))
        chunk_grad.addmm_(lay.chunk.t(), acc.scratch)
    elif chunk_grad is not None:  # fold a into the [L, K] table
        chunk_grad.addmm_(lay.chunk.t() * amp.reshape(1, -1), adjoint)
    if grads is not None:
        grads[1] += lay.weighted_dot(G, lay.rows(m0 - k0, m0))
        if chunk_grad is not None:
            grads[2] += lay.mode_dot(lay.chunk @ lay.rows(lo, lo + L), adjoint)
        elif lay.initial_modes is not None:
            grads[2] += lay.mode_dot(lay.initial_modes, adjoint)


def _input_grad(lay: _Layout, acc: _Accumulator, m: int, i: int) -> torch.Tensor:
    """∂L/∂x_{m-1}: what the window collected (head and mode terms) plus the inner terms of the
    block's later steps, gathered: Σ_{i'=i}^{L-1} ρ_{i'-i+1} ḡ_{m0+i'} (a read, not a scatter)."""
    row = acc.rows(m - 1, m)[0]
    if i == 0:  # x_{m0-1} is a head state of its block, not an inner one
        return row.clone().reshape(lay.shape)
    weights, later = lay.inner_ascending[: lay.block - i], acc.block_grad[i:]
    if lay.per_neuron:
        grad = weighted_rows(weights, lay.neurons(later)).reshape(-1).add_(row)
    else:
        grad = torch.addmv(row, later.t(), weights[:, 0])
    return grad.reshape(lay.shape)


class _ModeStep(torch.autograd.Function):
    """One step: (chain, x_prev, inner, head, amp) -> (y_m, chain')."""

    @staticmethod
    def forward(ctx, chain, x_prev, inner, head, amp, conv):
        ctx.set_materialize_grads(False)
        y = conv.forward_step(x_prev)
        if conv.n == conv.first_recorded and conv.n > 1 and conv.keep_all:
            # M(m0) of the first recorded step is a constant of the graph; ∂/∂amp reads it
            conv.initial_modes = conv.modes.clone()
        ctx.layout, ctx.m, ctx.m0 = _Layout(conv), conv.n, conv.block_start
        ctx.chain_block = None if chain is None else conv.chain_block
        conv.chain_block = conv.block_start
        link = torch.zeros((), dtype=y.dtype, device=y.device)
        return y, link.expand(ctx.layout.accumulator_rows(), conv.modes.shape[1])

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y, G):
        lay, m, m0 = ctx.layout, ctx.m, ctx.m0
        need_weights = any(ctx.needs_input_grad[2:5])
        if G is None:
            G = torch.zeros((lay.accumulator_rows(), lay.columns), dtype=lay.dtype, device=lay.device)
        acc = _Accumulator(G, lay, m0)
        L = lay.block
        i = m - m0
        chain_block = ctx.chain_block
        # the first recorded step of its block in this chain flushes the block's far part; the
        # rows of the block's earlier (unrecorded) steps hold another block's values: clear them
        flush = m == m0 or chain_block != m0
        if flush and i > 0:
            acc.block_grad[:i].zero_()
        grads = None
        if need_weights:
            grads = [torch.zeros_like(lay.inner_ascending), torch.zeros_like(lay.head_table), torch.zeros_like(lay.amp)]
        g = torch.zeros(G.shape[1], dtype=G.dtype, device=G.device) if grad_y is None else grad_y.reshape(-1)
        acc.block_grad[i] = g
        if need_weights and i > 0:  # ∂L/∂ρ_k += ⟨ḡ_m, x_{m−k}⟩ over the inner lags
            grads[0][L - 1 - i :] += lay.weighted_dot(lay.rows(m - i, m), g.unsqueeze(0))[:, 0]
        if flush:
            _flush_block(lay, acc, m0, m == lay.first_recorded, grads)
        grad_x = _input_grad(lay, acc, m, i) if ctx.needs_input_grad[1] else None
        if flush:
            acc.slide(L)
            # blocks run under no_grad between the chain's step and this one: nothing to add from
            # their outputs, but the adjoint carries the later gradients through them
            for gap in range(m0 - L, chain_block if chain_block is not None else m0, -L):
                acc = _Accumulator(G, lay, gap)
                acc.block_grad.zero_()
                _flush_block(lay, acc, gap, False, grads)
                acc.slide(L)
        grad_chain = G if ctx.needs_input_grad[0] else None
        if grads is None:
            return grad_chain, grad_x, None, None, None, None
        return grad_chain, grad_x, *grads, None


def step(conv: ModeConvolution, x_prev: torch.Tensor) -> torch.Tensor:
    """Append ``x_prev`` and return y_m, recorded for autograd when anything needs it.

    The weights must be set (:meth:`ModeConvolution.set_weights`; they may require grad).
    """
    weights = (conv.inner, conv.head_table, conv.amp)
    chain = conv.chain
    needs_graph = torch.is_grad_enabled() and (
        x_prev.requires_grad or any(w.requires_grad for w in weights) or (chain is not None and chain.requires_grad)
    )
    if not needs_graph:
        return conv.forward_step(x_prev)
    if conv.first_recorded is None:
        conv.first_recorded = conv.n + 1
        conv.keep_all = any(w.requires_grad for w in weights)
    y, conv.chain = _ModeStep.apply(chain, x_prev, *weights, conv)
    return y
