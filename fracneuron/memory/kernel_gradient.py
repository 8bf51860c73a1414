r"""∂L/∂(kernel weights) of a whole new sequence, for a fused sequence's learned α.

``exact``: ∂L/∂ρ_k = Σ_n ⟨ḡ_n, u_{n−k}⟩ over all the pairs at lag k (:func:`lag_sums`;
O(T²·N) work, only the lags a window keeps: for one kernel per layer matrix products of blocks of
rows; for a kernel per neuron element-wise, a bounded block of rows at a time). ``soe``, blockwise:

Over a known sequence u_0 … u_{T−1} (a new sequence: no earlier past) the soe correction of the
step that records u_{n−1} is

    c_n = Σ_{k=1}^{n} ρ_k u_{n−k},     ρ_k = −ω_k (k ≤ k0),     ρ_k = Σ_q a_q λ_q^{k−k0−1} (k > k0)

so, given ḡ_n = ∂L/∂c_n, ∂L/∂ρ_k = Σ_n ⟨ḡ_n, u_{n−k}⟩ and ∂L/∂a_q = Σ_{k>k0} ∂L/∂ρ_k λ_q^{k−k0−1}.
By blocks of L steps starting at m0 (as :mod:`fracneuron.functional.exponential_modes` runs the forward): the
lags k ≤ k0 + L − 1 come from the block's gradients and the k0 + L − 1 states before them, the
pairs ⟨ḡ_{m0+i}, u_{m0−k0+l}⟩ at lag k0 + i − l (:func:`lag_sums`); the older states are in the modes
M_q(m0) = Σ_{j<m0−k0} λ_q^{m0−k0−1−j} u_j, which add Σ_i λ_q^i ⟨ḡ_{m0+i}, M_q(m0)⟩ to ∂L/∂a_q and
advance as M(m0+L) = λ^L M(m0) + Σ_l λ^{L−1−l} u_{m0−k0+l}. The sums run over the batch, and over
the neurons too when the kernel is one per layer. Time O(T·(k0 + L + K)·N), instead of a
recorded replay of every step.

:func:`exact_kernel_grad` and :func:`soe_kernel_grads` run inside the fused sequence's backward (ḡ
is its ḡH, before that buffer becomes ∂L/∂x); the sequence's node hands their results to the
weights, whose graph carries them on to α.
"""

from __future__ import annotations

import torch

from ..functional.exponential_modes import ModeConvolution
from ..functional.per_neuron import dot_rows

__all__ = ["soe_kernel_grads", "exact_kernel_grad", "lag_sums"]

#: rows of gradients whose pairs with the states one element-wise product forms (a kernel per
#: neuron); bounds the temporaries whatever T
PAIR_ROWS = 256
#: rows of gradients whose pairs with the states one matrix product forms (one kernel per layer): a
#: block reaches only the states before its last row, so smaller blocks skip more of the discarded
#: pairs (T(T + rows)/2 of T² computed); 64 measured fastest at T = 256 and 1024
PRODUCT_ROWS = 64


def exact_kernel_grad(
    rho: torch.Tensor, u: torch.Tensor, grad: torch.Tensor, window: int | None = None, zero_first: bool = False
) -> torch.Tensor:
    """∂L/∂ρ (``rho``'s shape: ρ_1 … ρ_T as ``[T, *A]``, A: α's per-neuron shape or 1) of the
    corrections c over the states ``u`` (``[T, B, ...]``), given their gradient ``grad``; zero
    beyond a ``window`` (those weights are zeros, not functions of α). ``zero_first``: u_0 is
    exactly zero (a new sequence, relative to its anchor V_0), so its pairs are not formed."""
    T, B = u.shape[0], u.shape[1]
    per_neuron = rho[0].numel() != 1
    lags = T if window is None else min(T, window)
    grad_rho = rho.new_zeros((T, rho[0].numel()))
    # the step from u_n returns c with u_{n+1−k} at lag k: ḡ_{k−1} … ḡ_{T−1} against u_0 … u_{T−k}
    shape = (T, B, u.shape[2:].numel())  # (explicit sizes: an empty batch leaves -1 ambiguous)
    skip = int(zero_first)  # without u_0: u_{j+1} is row j, one step less of shift
    states = u.reshape(shape)[skip:]
    grad_rho[:lags] = lag_sums(grad.reshape(shape), states, 1 - skip, 1, lags + 1, per_neuron)
    return grad_rho.reshape(rho.shape)


def lag_sums(g: torch.Tensor, x: torch.Tensor, shift: int, first: int, stop: int, per_neuron: bool) -> torch.Tensor:
    r"""S[k − first] = Σ_i ⟨g_i, x_{i+shift−k}⟩ over the i (rows of ``g``) whose row i + shift − k
    of ``x`` exists, for the lags k = first … stop − 1: ``[stop − first, F]`` (per neuron, summed
    over the batch; ``g``, ``x`` as ``[·, B, F]``) or ``[stop − first, 1]`` (one kernel, summed over
    the neurons too).

    Per neuron, only the pairs at one of the lags, one product per lag and block of rows (a
    product of all the pairs, batched over the neurons, makes the framework run a tiny matrix
    product per neuron and discards the rest); one kernel: one matrix product of all the pairs,
    added up by lag."""
    I, J = g.shape[0], x.shape[0]
    out = g.new_zeros((stop - first, g.shape[2] if per_neuron else 1))
    if not per_neuron:
        rows, columns = g.reshape(I, -1), x.reshape(J, -1)
        for i0 in range(0, I, PRODUCT_ROWS):  # by blocks of rows: the pairs take O(PRODUCT_ROWS·T) memory
            i1 = min(I, i0 + PRODUCT_ROWS)
            j0, j1 = max(0, i0 + shift - stop + 1), min(J, i1 + shift - first)  # the x rows in reach
            if j1 <= j0:
                continue
            pairs = rows[i0:i1] @ columns[j0:j1].t()  # ⟨g_i, x_j⟩, lag i + shift − j
            i = torch.arange(i0, i1, device=g.device)[:, None]
            lag = shift + i - torch.arange(j0, j1, device=g.device)[None, :]
            keep = (lag >= first) & (lag < stop)
            out.index_add_(0, lag[keep] - first, pairs[keep].unsqueeze(1))
        return out
    part = out.new_empty(out.shape[1:])
    for k in range(first, stop):
        lo, hi = max(0, k - shift), min(I, J + k - shift)  # the rows i of g
        for i0 in range(lo, hi, PAIR_ROWS):  # by blocks of rows: a bounded product
            i1 = min(hi, i0 + PAIR_ROWS)
            a, b = g[i0:i1], x[i0 + shift - k : i1 + shift - k]
            if i0 == lo:
                dot_rows(a, b, out[k - first])
            else:
                out[k - first] += dot_rows(a, b, part)
    return out


def soe_kernel_grads(
    conv: ModeConvolution, near: torch.Tensor, amp: torch.Tensor, rows, grad: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂L/∂near, ∂L/∂amp) of the kernel of :meth:`ModeConvolution.set_weights` (shapes of
    ``near`` and ``amp``) from the corrections' gradient ``grad`` (``[T, B, ...]``) over the
    states u_0 … u_{T−1}, which ``rows(lo, hi)`` gives as u_lo … u_{hi−1} (a block's window at a
    time: no ``[T, B, ...]`` copy of them is needed)."""
    grad_lag, grad_amp = _kernel_grads(conv, rows, grad, amp.shape[-1] != 1)
    k0, W = conv.head, near.shape[0]
    grad_near = torch.zeros_like(near)
    grad_near[W - k0 : W] = grad_lag[1 : k0 + 1].flip(0)  # near[W − k] = ρ_k
    return grad_near, grad_amp


def _kernel_grads(conv: ModeConvolution, rows, grad: torch.Tensor, per_neuron: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂L/∂ρ_k for k = 0 … k0 + L − 1 (row 0 unused), ∂L/∂a): ``[·, F]`` per neuron, ``[·, 1]``
    for one kernel; ``rows(lo, hi)``: the states u_lo … u_{hi−1}."""
    T, B = grad.shape[0], grad.shape[1]
    k0, L = conv.head, conv.block
    F = grad.shape[2:].numel()  # (explicit sizes: an empty batch leaves -1 ambiguous)
    # the step from u_n returns c_{n+1} = Σ_k ρ_k u_{n+1−k}: output m = n + 1 (none at m = 0), so
    # output m's gradient is grad[m − 1]
    grad = grad.reshape(T, B, F)
    powers, chunk, decay = conv.powers, conv.chunk, conv.decay  # [L, K], [K, L], [K, 1]
    K = powers.shape[1]
    P = F if per_neuron else 1
    grad_lag = grad.new_zeros((k0 + L, P))
    grad_amp = grad.new_zeros((K, P))
    # the modes (and, per neuron, the block's weighted gradients): [K, B·F] buffers updated in
    # place (a new pair per block is fresh memory the kernel maps and zeroes again every block)
    modes = grad.new_zeros((K, B * F))
    weighted = grad.new_empty((K, B * F)) if per_neuron else None
    for m0 in range(0, T + 1, L):
        n = min(L, T + 1 - m0)
        lo = max(m0, 1)  # outputs lo … m0 + n − 1 (output 0 has none)
        g = grad[lo - 1 : m0 + n - 1]
        # lags 1 … k0 + L − 1 from the block's window: output m against u_{m−k}, m − k ≥ m0 − k0
        first = max(0, m0 - k0)
        window = rows(first, m0 + n - 1).reshape(m0 + n - 1 - first, B, F)
        grad_lag[1:] += lag_sums(g, window, lo - first, 1, k0 + L, per_neuron)
        if m0 > 0:  # the modes: states older than the block's window
            grad_amp += _mode_dot(modes, powers[lo - m0 : n], g.reshape(g.shape[0], -1), weighted, B, per_neuron)
        start = m0 - k0
        if m0 + L <= T and start + L > 0:  # fold u_{m0−k0} … u_{m0−k0+L−1} in (those after u_0;
            # k0 ≥ 1: all in the window)
            folded = window[: start + L - first].reshape(start + L - first, B * F)
            modes.mul_(decay).addmm_(chunk[:, max(0, -start) :], folded)
    grad_amp += powers[: L - 1].t() @ grad_lag[k0 + 1 : k0 + L]  # lags k0 < k < k0 + L: the tail
    return grad_lag, grad_amp


def _mode_dot(modes: torch.Tensor, powers: torch.Tensor, g: torch.Tensor, scratch, B: int, per_neuron: bool) -> torch.Tensor:
    """Σ_i λ^i ⟨g_i, M⟩ summed over the batch (and the neurons, one kernel) -> [K, P]: ``modes``
    [K, B·F], ``powers`` [n, K], ``g`` [n, B·F]; ``scratch`` [K, B·F] (per neuron) is overwritten."""
    if not per_neuron:  # ⟨g_i, M_q⟩ for every (i, q) in one product, weighted by λ_q^i
        return (powers * (g @ modes.t())).sum(0).unsqueeze(1)
    weighted = torch.mm(powers.t(), g, out=scratch).mul_(modes)
    return weighted.reshape(modes.shape[0], B, -1).sum(1)
