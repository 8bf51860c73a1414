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
large matrix products; per step only the inner sum over the block's own past remains (with one
kernel per layer a matrix–vector product at each step; per neuron each state, once stored, is
added into the block's later outputs with one broadcast multiply-add).

Explicit, persistent state. A :class:`ModeConvolution` is a handle on one sequence: the modes
M(m0) and the far part of its block (new tensors at every block start, or the handle's own
buffers written in place when no other handle reads them; a fork copies before it writes), and
the recent states in a :class:`~fracneuron.functional.stored_history.PastStore` (append-only,
copy-on-write). :meth:`ModeConvolution.fork` is O(1): a state handed out stays what it was
whatever either copy does next.

The recorded steps and their backward (the adjoint recurrence) are in
:mod:`.mode_steps`.

Layouts: states are stored flat, ``[rows, Q]`` with Q = batch·features; weights are
``inner [L−1, P]`` (reversed: inner[L−1−k] = ρ_k), ``head [L, k0, P]`` (head[i, l] =
ρ_{i+k0−l}, the Hankel table of the k0 lags before a block) and ``amp [K, P]``, with P = 1 (one
kernel per layer) or P = features (one per neuron: :mod:`fracneuron.functional.per_neuron`)."""

from __future__ import annotations

import copy

import torch

from .per_neuron import add_table
from .past_store import PastStore

__all__ = ["ModeConvolution"]


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
        self.far_owned = False  # no other handle reads ``far``: a kernel per neuron adds into it
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
        self.private = self.store_private = self.far_owned = False  # both handles read them now
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
        self.far, self.far_owned = far, True
        self.private = previous > 0 or self.private  # (the first block's modes: the initial zeros)
        if self.per_neuron:  # the block's states stored already (a block continued after detach)
            for j in range(m0, self.n):
                self._push(j)

    def _push(self, j: int) -> None:
        """A kernel per neuron: add x_j's terms to the block's later outputs,
        far[i] += ρ_{i−(j−m0)} ⊙ x_j for i = j − m0 + 1 … L − 1 (one broadcast multiply-add: the
        same products as summing the earlier rows at each step, with no [i, B, F] temporary)."""
        i = j - self.block_start + 1
        if i >= self.block:
            return
        if not self.far_owned:  # another handle reads this block's far part: copy on write
            self.far, self.far_owned = self.far.clone(), True
        weights = self.inner_ascending[: self.block - i].unsqueeze(1)  # ρ_1 … ρ_{L−i}, [L − i, 1, F]
        self._neurons(self.far[i:]).addcmul_(weights, self._neurons(self.rows(j, j + 1)))

    def _inner_sum(self, i: int, m: int) -> torch.Tensor:
        """y_m = far[i] + Σ_{j=m0}^{m-1} ρ_{m-j} x_j (flat [Q]); per neuron, far[i] holds the
        whole sum once x_{m-1} is pushed (:meth:`_push`)."""
        if i == 0 or self.per_neuron:
            return self.far[i].clone()
        weights, x = self.inner[self.block - 1 - i :].detach(), self.rows(m - i, m)
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
        elif self.per_neuron:
            self._push(m - 1)
        return self._inner_sum(m - self.block_start, m).reshape(self.shape)
