"""The weights' gradient of a fused sequence's kernel (fracneuron.memory.kernel_gradient) against
autograd through the plain convolution c_m = Σ_k ρ_k u_{m−k}, float64, many blocks and modes."""

from __future__ import annotations

import pytest
import torch

from fracneuron.functional.exponential_modes import ModeConvolution
from fracneuron.memory import kernel_gradient
from fracneuron.memory.kernel_gradient import exact_kernel_grad, lag_sums, soe_kernel_grads

T, B, F = 41, 3, 4


def random(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def convolve(rho: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """c of the step from u_n (n = 0 … T−1): Σ_{k=1}^{n+1} ρ_k u_{n+1−k}, ρ as [lags, P]."""
    flat = u.reshape(u.shape[0], u.shape[1], -1)
    rows = [sum(rho[k - 1] * flat[n + 1 - k] for k in range(1, n + 2)) for n in range(u.shape[0])]
    return torch.stack(rows).reshape(u.shape)


def assert_close_rel(got, want, rel=1e-12):
    scale = want.abs().max()
    assert ((got - want).abs().max() / scale).item() <= rel, (got, want)


@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("shift", [0, 1, 3])
@pytest.mark.parametrize("pair_rows", [256, 2, 3])
def test_lag_sums_are_the_pairs_at_each_lag(per_neuron, shift, pair_rows, monkeypatch):
    # pair_rows: the pairs are formed by blocks of rows (2, 3: many blocks, one ragged)
    monkeypatch.setattr(kernel_gradient, "PAIR_ROWS", pair_rows)
    monkeypatch.setattr(kernel_gradient, "PRODUCT_ROWS", pair_rows)
    g, x = random(7, B, F, seed=1), random(9, B, F, seed=2)
    got = lag_sums(g, x, shift, 1, 12, per_neuron)
    want = torch.zeros_like(got)
    for i in range(g.shape[0]):
        for j in range(x.shape[0]):
            k = i + shift - j
            if 1 <= k < 12:
                pair = (g[i] * x[j]).sum(0)
                want[k - 1] += pair if per_neuron else pair.sum()
    assert_close_rel(got, want)


@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("zero_first", [False, True])
def test_exact_kernel_grad_is_the_weights_gradient(per_neuron, zero_first):
    # zero_first: u_0 = 0 (a new sequence, relative to its anchor), whose pairs are not formed
    u, g = random(T, B, F, seed=3), random(T, B, F, seed=4)
    if zero_first:
        u[0] = 0.0
    rho = random(T, F if per_neuron else 1, seed=5).requires_grad_()
    want = torch.autograd.grad((convolve(rho, u) * g).sum(), rho)[0]
    got = exact_kernel_grad(rho.detach(), u, g, zero_first=zero_first)
    assert_close_rel(got, want)


@pytest.mark.parametrize("per_neuron", [False, True])
def test_exact_kernel_grad_within_a_window(per_neuron):
    # the weights beyond the window are zeros (no function of α): their gradient is zero, the
    # others are the full gradient's
    u, g = random(T, B, F, seed=3), random(T, B, F, seed=4)
    rho = random(T, F if per_neuron else 1, seed=5)
    rho[7:] = 0.0
    rho.requires_grad_()
    want = torch.autograd.grad((convolve(rho, u) * g).sum(), rho)[0]
    got = exact_kernel_grad(rho.detach(), u, g, window=7)
    assert_close_rel(got[:7], want[:7])
    assert not got[7:].any()


@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("head, block", [(3, 4), (5, 2), (1, 7), (16, 16)])
def test_soe_kernel_grads_are_near_and_amp_gradients(per_neuron, head, block):
    rates = torch.tensor([0.05, 0.4, 1.3], dtype=torch.float64)
    P = F if per_neuron else 1
    conv = ModeConvolution(rates, head, block, torch.Size([B, F]), torch.float64, torch.device("cpu"))
    near = random(head + block - 1, P, seed=6).requires_grad_()
    amp = random(3, P, seed=7).requires_grad_()
    u, g = random(T, B, F, seed=8), random(T, B, F, seed=9)
    # the kernel the link stands for: ρ_k = near[W − k] for k ≤ k0, the exponential tail beyond
    W, lags = near.shape[0], torch.arange(T + 1, dtype=torch.float64)
    tail = torch.exp(-(lags[head + 1 :, None] - head - 1) * rates) @ amp
    rho = torch.cat([near.flip(0)[:head], tail])
    want = torch.autograd.grad((convolve(rho, u) * g).sum(), (near, amp))
    got = soe_kernel_grads(conv, near.detach(), amp.detach(), lambda lo, hi: u[lo:hi], g)
    for a, b in zip(got, want):
        assert_close_rel(a, b)
