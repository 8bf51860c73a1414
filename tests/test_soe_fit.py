"""fracneuron.soe_fit: the sum-of-exponentials fit of the GL kernel tail meets its tolerance with few
modes, smooth in α; the lag-indexed GL weights and the multi-term combination it is built on."""

from __future__ import annotations

import pytest
import torch

from fracneuron.soe_fit import fit_rates, soe_amplitudes, tail_error
from fracneuron.weights import combined_gl_weights, gl_weights, gl_weights_at


def test_gl_weights_at_matches_the_recursion():
    lags = torch.tensor([1, 2, 3, 17, 250, 4000])
    for a in (0.05, 0.3, 0.7, 0.999, 1.0):
        w = gl_weights(a, 4000)[lags]
        assert torch.allclose(gl_weights_at(a, lags), w, rtol=1e-10, atol=0)
    assert torch.equal(gl_weights_at(1.0, torch.tensor([2, 9])), torch.zeros(2, dtype=torch.float64))
    alpha = torch.tensor([0.3, 0.8, 0.999], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: gl_weights_at(a, torch.tensor([1, 2, 40])), (alpha,))
    with pytest.raises(ValueError, match="lags"):
        gl_weights_at(0.5, torch.tensor([0, 1]))


def test_combined_weights_unchanged_by_the_refactor():
    alphas = torch.tensor([[0.3], [0.8]], dtype=torch.float64)
    w, s = combined_gl_weights(alphas, torch.tensor([1.0, 2.0], dtype=torch.float64), 20, 0.5)
    c = torch.tensor([1.0, 2.0], dtype=torch.float64).reshape(2, 1) * 0.5 ** (-alphas)
    expected = (c[0] * gl_weights(alphas[0], 20) + c[1] * gl_weights(alphas[1], 20)) / c.sum(0)
    assert torch.allclose(w, expected, rtol=1e-14)
    assert torch.allclose(s, 1 / (0.5 * c.sum(0)))


@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.9, 0.99])
def test_fit_meets_tol_at_every_lag_of_the_horizon(alpha):
    fit = fit_rates(1e-6, 10_000, 16, alpha, alpha)
    every_lag = torch.arange(17, 10_001, dtype=torch.float64)
    assert tail_error(alpha, fit, every_lag) <= 1e-6
    assert fit.error <= 1e-6


def test_modes_stay_below_64_for_tol_1e6_up_to_1e5_steps():
    for alpha in (0.2, 0.3, 0.5, 0.7, 0.9, 0.99):
        assert fit_rates(1e-6, 100_000, 16, alpha, alpha).modes <= 64
    assert fit_rates(1e-6, 100_000, 16, 0.2, 0.99).modes <= 64  # one fit for a whole per-neuron range
    assert fit_rates(1e-4, 1000, 16, 0.5, 0.5).modes < fit_rates(1e-8, 1000, 16, 0.5, 0.5).modes


def test_amplitudes_are_smooth_in_alpha_and_vanish_at_one():
    fit = fit_rates(1e-4, 1000, 4, 0.3, 0.9)
    assert torch.equal(soe_amplitudes(torch.tensor(1.0, dtype=torch.float64), fit), torch.zeros(fit.modes, dtype=torch.float64))
    alpha = torch.tensor([0.3, 0.6, 0.9], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: soe_amplitudes(a, fit), (alpha,))
