"""fracneuron.solvers.product: at α = 1 the product-integration trapezoid is the trapezoid rule and abm the integral-form PECE."""

from __future__ import annotations

import pytest
import torch

import fracneuron as fn

from problems import dyadic_grid, forcing, nonlinear, Y0_VEC


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


def test_trap_at_alpha_one_is_the_trapezoid_rule():
    t, h, lam = dyadic_grid(), 0.03125, 1.5
    y = fn.fdeint(lambda t, y: forcing(t), Y0_VEC, t, 1.0, "trap", {"linear": lam})
    ref = [Y0_VEC]
    for n in range(1, t.shape[0]):
        f_prev = forcing(t[n - 1]) - lam * ref[-1]
        ref.append((ref[-1] + h / 2 * (f_prev + forcing(t[n]))) / (1 + h / 2 * lam))
    assert (y - torch.stack(ref)).abs().max() <= 1e-15 * torch.stack(ref).abs().max()
    # nonlinear right-hand side, implicit step solved by fixed point
    y = fn.fdeint(nonlinear, Y0_VEC, t, 1.0, "trap", {"tol": 1e-15})
    ref = [Y0_VEC]
    for n in range(1, t.shape[0]):
        known = ref[-1] + h / 2 * nonlinear(t[n - 1], ref[-1])
        guess = ref[-1]
        for _ in range(200):
            guess = known + h / 2 * nonlinear(t[n], guess)
        ref.append(guess)
    assert (y - torch.stack(ref)).abs().max() <= 1e-14


def test_abm_at_alpha_one_is_the_integral_form_pece():
    t, h = dyadic_grid(), 0.03125
    y = fn.fdeint(nonlinear, Y0_VEC, t, 1.0, "abm")
    states, rhs = [Y0_VEC], [nonlinear(t[0], Y0_VEC)]
    for n in range(1, t.shape[0]):
        predictor = Y0_VEC + h * sum(rhs)
        states.append(Y0_VEC + h * (rhs[0] / 2 + sum(rhs[1:], torch.zeros(3, dtype=F64)) + nonlinear(t[n], predictor) / 2))
        rhs.append(nonlinear(t[n], states[-1]))
    assert (y - torch.stack(states)).abs().max() <= 1e-15 * torch.stack(states).abs().max()
