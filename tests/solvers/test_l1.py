"""fracneuron.solvers.l1: at α = 1 the L1 scheme is backward Euler bit for bit."""

from __future__ import annotations

import pytest
import torch

import fracneuron as fn

from problems import dyadic_grid, forcing, Y0_VEC


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


def test_l1_at_alpha_one_is_backward_euler_bit_for_bit():
    t, h, lam = dyadic_grid(), 0.03125, 1.5
    y = fn.fdeint(lambda t, y: forcing(t), Y0_VEC, t, 1.0, "l1", {"linear": lam})
    ref = [Y0_VEC]
    for n in range(1, t.shape[0]):
        ref.append((ref[-1] + h * forcing(t[n])) / (1 + h * lam))
    assert torch.equal(y, torch.stack(ref))
