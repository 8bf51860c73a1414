"""fracneuron.solvers.odeint: classical Runge–Kutta 4 converges at order four."""

from __future__ import annotations

import math

import pytest
import torch

import fracneuron as fn


F64 = torch.float64


pytestmark = pytest.mark.usefixtures("single_thread")


def test_rk4_is_fourth_order():
    errors = []
    for n in (10, 20, 40):
        t = torch.linspace(0, 1, n + 1, dtype=F64)
        errors.append(float((fn.odeint(lambda t, y: -y + t, torch.ones(1, dtype=F64), t, "rk4")[-1] - (2 * math.exp(-1) + 0)).abs()))
    assert all(3.8 < math.log2(errors[i] / errors[i + 1]) < 4.2 for i in range(2))
