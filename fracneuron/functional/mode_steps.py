r"""The recorded steps of the sum-of-exponentials convolution (:mod:`.exponential_modes`) and
their backward: the adjoint recurrence of a :class:`~.exponential_modes.ModeConvolution`.

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

Shapes as in :mod:`.exponential_modes`: states and gradients flat, ``[rows, Q]``, Q = batch·features;
weights ``[·, P]``, P = 1 or features."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .per_neuron import add_table, pair_sums, weighted_rows

if TYPE_CHECKING:  # annotations only: the convolution calls nothing here
    from .exponential_modes import ModeConvolution

__all__ = ["step"]


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
