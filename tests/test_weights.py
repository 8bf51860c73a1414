"""fracneuron.weights: exact values, analytic derivatives D^α t^β, convergence, gradients in α."""

import math

import pytest
import torch

from fracneuron import weights as W

F64 = torch.float64


def test_gl_weights_recursion_and_binomial_form():
    alpha = 0.37
    w = W.gl_weights(alpha, 50)
    # w_k = (-1)^k binom(alpha, k) = Γ(k - α) / (Γ(-α) Γ(k + 1))
    k = torch.arange(1, 51, dtype=F64)
    binom = torch.exp(torch.lgamma(k - alpha) - math.lgamma(-alpha + 1) - torch.lgamma(k + 1)) * (-alpha)
    # Γ(-α) = Γ(1-α)/(-α), so 1/Γ(-α) = -α/Γ(1-α)
    assert w[0] == 1.0
    torch.testing.assert_close(w[1:], binom, rtol=1e-12, atol=0)


def test_all_weights_reduce_to_classical_at_alpha_one():
    n = 8
    assert torch.equal(W.gl_weights(1.0, n), torch.tensor([1.0, -1.0] + [0.0] * (n - 1), dtype=F64))
    assert torch.equal(W.l1_weights(1.0, n), torch.tensor([1.0] + [0.0] * n, dtype=F64))
    assert torch.equal(W.rectangle_weights(1.0, n), torch.tensor([1.0] * (n + 1), dtype=F64))
    torch.testing.assert_close(W.trapezoid_weights(1.0, n), torch.tensor([0.5] + [1.0] * n, dtype=F64), rtol=0, atol=1e-15)
    start = W.trapezoid_start_weights(1.0, n)
    assert start[0] == 0.0
    torch.testing.assert_close(start[1:], torch.full((n,), 0.5, dtype=F64), rtol=0, atol=1e-15)


def test_l1_first_weight_is_one_for_every_alpha():
    # the published pow(0, 0) bug would give b_0 = 0 at alpha = 1
    for alpha in (0.1, 0.5, 0.999, 1.0):
        assert W.l1_weights(alpha, 3)[0].item() == pytest.approx(1.0, abs=0)


@pytest.mark.parametrize("alpha", [0.3, 0.6, 0.9])
@pytest.mark.parametrize("beta", [1.0, 2.0, 3.5])
def test_gl_derivative_of_power_converges_first_order(alpha, beta):
    # D^α t^β = Γ(β+1)/Γ(β+1-α) t^{β-α}; t^β vanishes at 0 so Caputo = Riemann–Liouville here
    T = 1.0
    exact = math.gamma(beta + 1) / math.gamma(beta + 1 - alpha) * T ** (beta - alpha)
    errors = []
    for N in (200, 400, 800):
        h = T / N
        u = (torch.arange(N + 1, dtype=F64) * h) ** beta
        w = W.gl_weights(alpha, N)
        approx = h ** (-alpha) * torch.dot(w, u.flip(0))
        errors.append(abs(approx.item() - exact))
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(abs(p - 1.0) < 0.1 for p in orders), (errors, orders)


@pytest.mark.parametrize("alpha", [0.3, 0.6, 0.9])
def test_l1_derivative_of_smooth_function_has_order_two_minus_alpha(alpha):
    # L1: D^α u(t_n) ≈ h^{-α}/Γ(2-α) Σ_k b_k (u_{n-k} - u_{n-k-1}); order 2 - α for smooth u = t^2
    T, beta = 1.0, 2.0
    exact = math.gamma(beta + 1) / math.gamma(beta + 1 - alpha) * T ** (beta - alpha)
    errors = []
    for N in (100, 200, 400):
        h = T / N
        u = (torch.arange(N + 1, dtype=F64) * h) ** beta
        b = W.l1_weights(alpha, N - 1)
        diffs = (u[1:] - u[:-1]).flip(0)  # u_{n-k} - u_{n-k-1}, k = 0..N-1
        approx = h ** (-alpha) / math.gamma(2 - alpha) * torch.dot(b, diffs)
        errors.append(abs(approx.item() - exact))
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(abs(p - (2 - alpha)) < 0.1 for p in orders), (errors, orders)


@pytest.mark.parametrize("alpha", [0.4, 0.8])
def test_rectangle_weights_integrate_constants_exactly(alpha):
    # y_n = h^α Σ b_{n-1-j} f_j with f ≡ 1 gives the fractional integral of 1: t^α / Γ(α+1)
    n, h = 17, 0.1
    b = W.rectangle_weights(alpha, n - 1)
    approx = h**alpha * b.sum()
    assert approx.item() == pytest.approx((n * h) ** alpha / math.gamma(alpha + 1), rel=1e-13)


@pytest.mark.parametrize("alpha", [0.4, 0.8])
def test_trapezoid_weights_integrate_linear_functions_exactly(alpha):
    # product trapezoid is exact for piecewise-linear f; I^α t = t^{α+1}/Γ(α+2)
    n, h = 13, 0.05
    t = torch.arange(n + 1, dtype=F64) * h
    a = W.trapezoid_weights(alpha, n)
    s = W.trapezoid_start_weights(alpha, n)
    f = t
    approx = h**alpha * (a[0] * f[n] + (a[1:n].flip(0) * f[1:n]).sum() + s[n] * f[0])
    assert approx.item() == pytest.approx(t[n].item() ** (alpha + 1) / math.gamma(alpha + 2), rel=1e-12)


def test_weights_are_differentiable_in_alpha():
    for fn in (W.gl_weights, W.l1_weights, W.rectangle_weights, W.trapezoid_weights, W.trapezoid_start_weights):
        a = torch.tensor(0.45, dtype=F64, requires_grad=True)
        assert torch.autograd.gradcheck(lambda a: fn(a, 12), (a,)), fn.__name__


def test_gl_gradient_at_alpha_one_matches_one_sided_difference():
    # cumprod through a zero factor (w_k = 0 for k >= 2 at α = 1) must still give the right slope
    a = torch.tensor(1.0, dtype=F64, requires_grad=True)
    w = W.gl_weights(a, 10)
    (grad,) = torch.autograd.grad(w.sum(), a)
    eps = 1e-7
    one_sided = (W.gl_weights(1.0, 10).sum() - W.gl_weights(1.0 - eps, 10).sum()) / eps
    assert grad.item() == pytest.approx(one_sided.item(), rel=1e-5)
    assert torch.isfinite(grad)


def test_per_neuron_alpha_shape():
    alpha = torch.tensor([[0.3, 0.5], [0.7, 1.0]], dtype=F64)
    w = W.gl_weights(alpha, 5)
    assert w.shape == (6, 2, 2)
    torch.testing.assert_close(w[:, 0, 1], W.gl_weights(0.5, 5))


def test_per_neuron_weights_are_each_neurons_own_bit_for_bit():
    # one α per neuron runs the same products as that α alone (the fused and stepped paths, and a
    # neuron against a layer of one, must agree to the last digit), and so does its gradient
    alpha = torch.tensor([[0.3, 0.55, 0.999], [0.7, 1.0, 0.01]], dtype=F64, requires_grad=True)
    w = W.gl_weights(alpha, 40)
    assert w.is_contiguous()
    for i in range(2):
        for j in range(3):
            assert torch.equal(w[:, i, j], W.gl_weights(alpha[i, j].detach(), 40))
    inside = torch.tensor([[0.3, 0.55], [0.7, 0.02]], dtype=F64, requires_grad=True)  # (gradcheck steps off α)
    assert torch.autograd.gradcheck(lambda a: W.gl_weights(a, 12), (inside,))


def test_combined_weights_single_term_is_plain_gl_and_scale():
    alphas = torch.tensor([0.6], dtype=F64)
    w, s = W.combined_gl_weights(alphas, None, 7, step_size=0.25)
    assert torch.equal(w, W.gl_weights(0.6, 7))
    assert s.item() == pytest.approx(0.25 ** (0.6 - 1.0), rel=1e-15)
    _, s1 = W.combined_gl_weights(torch.tensor([1.0], dtype=F64), None, 3, step_size=0.3)
    assert s1.item() == 1.0  # exactly: the native increment is untouched at α = 1


def test_combined_multi_term_weights():
    alphas = torch.tensor([0.3, 0.8], dtype=F64)
    c = torch.tensor([2.0, 0.5], dtype=F64)
    h = 0.1
    w, s = W.combined_gl_weights(alphas, c, 6, step_size=h)
    total = 2.0 * h**-0.3 * W.gl_weights(0.3, 6) + 0.5 * h**-0.8 * W.gl_weights(0.8, 6)
    torch.testing.assert_close(w, total / total[0], rtol=1e-14, atol=0)
    assert s.item() == pytest.approx(1.0 / (h * total[0].item()), rel=1e-14)


def test_correction_weights_vanish_at_alpha_one():
    omega = W.correction_weights(W.gl_weights(1.0, 9))
    assert torch.equal(omega, torch.zeros(10, dtype=F64))
    omega = W.correction_weights(W.gl_weights(0.4, 3))
    assert omega[1].item() == pytest.approx(0.6, abs=1e-15)


@pytest.mark.parametrize("bad", [0.0, -0.2, 1.5, float("nan")])
def test_alpha_out_of_range_is_rejected(bad):
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        W.gl_weights(bad, 3)


def test_alpha_of_wrong_type_is_rejected():
    with pytest.raises(TypeError, match="alpha"):
        W.gl_weights("0.5", 3)
