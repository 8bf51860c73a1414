r"""∂L/∂(kernel weights) of a whole new sequence, for a fused sequence's learned α.

``exact`` (a short sequence): ∂L/∂ρ_k = Σ_n ⟨ḡ_n, u_{n−k}⟩ from one product of all the gradients
with all the states (O(T²·N), so for T ≤ :data:`SHORT` only). ``soe``, blockwise:

Over a known sequence u_0 … u_{T−1} (a new sequence: no earlier past) the soe correction of the
step that records u_{n−1} is

    c_n = Σ_{k=1}^{n} ρ_k u_{n−k},     ρ_k = −ω_k (k ≤ k0),     ρ_k = Σ_q a_q λ_q^{k−k0−1} (k > k0)

so, given ḡ_n = ∂L/∂c_n, ∂L/∂ρ_k = Σ_n ⟨ḡ_n, u_{n−k}⟩ and ∂L/∂a_q = Σ_{k>k0} ∂L/∂ρ_k λ_q^{k−k0−1}.
By blocks of L steps starting at m0 (as :mod:`fracneuron.functional.exponential_modes` runs the forward): the
lags k ≤ k0 + L − 1 come from one product of the block's gradients with the k0 + L − 1 states
before them, D[i, l] = ⟨ḡ_{m0+i}, u_{m0−k0+l}⟩ (lag k0 + i − l); the older states are in the modes
M_q(m0) = Σ_{j<m0−k0} λ_q^{m0−k0−1−j} u_j, which add Σ_i λ_q^i ⟨ḡ_{m0+i}, M_q(m0)⟩ to ∂L/∂a_q and
advance as M(m0+L) = λ^L M(m0) + Σ_l λ^{L−1−l} u_{m0−k0+l}. The sums run over the batch, and over
the neurons too when the kernel is one per layer. Time O(T·(k0 + L + K)·N) in matrix products,
instead of a recorded replay of every step.

:func:`soe_kernel_link` returns a placeholder ``[T, B, ...]`` whose gradient (ḡ) it turns into the
weights' gradients, so autograd carries them on to α.
"""

from __future__ import annotations

import torch

from ..functional.exponential_modes import ModeConvolution

__all__ = ["soe_kernel_link", "exact_kernel_link", "SHORT"]

#: the longest new ``exact`` sequence whose weights' gradient is one product of all steps
SHORT = 64


def exact_kernel_link(rho: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A ``[T, B, ...]`` tensor (zeros) whose gradient ḡ gives ``rho`` (ρ_1 … ρ_T as ``[T, *A]``,
    A: α's per-neuron shape or 1, with α's graph) its gradient over the states ``u``."""
    return _ExactKernel.apply(rho, u.detach())


class _ExactKernel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, rho, u):
        ctx.save_for_backward(rho, u)
        return u.new_zeros(()).expand(u.shape)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        rho, u = ctx.saved_tensors
        T, B = u.shape[0], u.shape[1]
        D = torch.einsum("nbf,jbf->njf", grad.reshape(T, B, -1), u.reshape(T, B, -1))  # ⟨ḡ_n, u_j⟩
        lag = torch.arange(1, T + 1, device=u.device)[:, None] - torch.arange(T, device=u.device)[None, :]
        valid = lag >= 1  # the step from u_n returns c with u_{n+1−k} at lag k
        grad_rho = D.new_zeros((T + 1, D.shape[-1])).index_add_(0, lag[valid], D[valid])[1:]
        if rho[0].numel() == 1:
            grad_rho = grad_rho.sum(-1, keepdim=True)
        return grad_rho.reshape(rho.shape), None


def soe_kernel_link(conv: ModeConvolution, near: torch.Tensor, amp: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """A ``[T, B, ...]`` tensor (zeros) whose gradient ḡ gives ``near`` and ``amp`` (the kernel of
    :meth:`ModeConvolution.set_weights`, with α's graph) their gradients over the states ``u``."""
    return _SoeKernel.apply(near, amp, u.detach(), conv)


class _SoeKernel(torch.autograd.Function):
    @staticmethod
    def forward(ctx, near, amp, u, conv):
        ctx.conv = conv
        ctx.save_for_backward(near, amp, u)
        return u.new_zeros(()).expand(u.shape)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        near, amp, u = ctx.saved_tensors
        grad_lag, grad_amp = _kernel_grads(ctx.conv, u, grad)
        per_neuron = amp.shape[-1] != 1
        if not per_neuron:
            grad_lag, grad_amp = grad_lag.sum(-1, keepdim=True), grad_amp.sum(-1, keepdim=True)
        k0, W = ctx.conv.head, near.shape[0]
        grad_near = torch.zeros_like(near)
        grad_near[W - k0 : W] = grad_lag[1 : k0 + 1].flip(0)  # near[W − k] = ρ_k
        return grad_near, grad_amp, None, None


def _kernel_grads(conv: ModeConvolution, u: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(∂L/∂ρ_k for k = 0 … k0 + L − 1 (row 0 unused), ∂L/∂a), per neuron: [·, F]."""
    T, B = u.shape[0], u.shape[1]
    k0, L = conv.head, conv.block
    u = u.reshape(T, B, -1)
    F = u.shape[2]
    # the step from u_n returns c_{n+1} = Σ_k ρ_k u_{n+1−k}: output m = n + 1 (none at m = 0)
    grad = torch.cat([grad.new_zeros((1, B, F)), grad.reshape(T, B, F)])
    T += 1
    powers, chunk, decay = conv.powers, conv.chunk, conv.decay  # [L, K], [K, L], [K, 1]
    K = powers.shape[1]
    padded = torch.cat([u.new_zeros((k0 + L, B, F)), u])  # u_j at row j + k0 + L (zeros before u_0)
    off = k0 + L
    i = torch.arange(L, device=u.device)[:, None]
    lag = k0 + i - torch.arange(k0 + L - 1, device=u.device)[None, :]  # [L, k0 + L − 1]
    grad_lag = u.new_zeros((k0 + L, F))
    grad_amp = u.new_zeros((K, F))
    modes = u.new_zeros((K, B * F))
    for m0 in range(0, T, L):
        n = min(L, T - m0)
        g = grad[m0 : m0 + n]
        before = padded[off + m0 - k0 : off + m0 + n - 1]  # u_{m0−k0} … u_{m0+n−2}
        D = torch.einsum("ibf,lbf->ilf", g, before)  # [n, k0 + n − 1, F]
        lags = lag[:n, : k0 + n - 1]
        valid = lags >= 1
        grad_lag.index_add_(0, lags[valid], D[valid])
        if m0 > 0:  # the modes: states older than the block's window
            weighted = (powers[:n].t() @ g.reshape(n, -1)).reshape(K, B, F)
            grad_amp += (modes.reshape(K, B, F) * weighted).sum(1)
        if m0 + L < T:
            modes = torch.addmm(modes * decay, chunk, padded[off + m0 - k0 : off + m0 - k0 + L].reshape(L, -1))
    grad_amp += powers[: L - 1].t() @ grad_lag[k0 + 1 : k0 + L]  # lags k0 < k < k0 + L: the tail
    return grad_lag, grad_amp
