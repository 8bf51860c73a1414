"""fracneuron.solvers.gl: with a linear part at α = 1 it is IMEX Euler; it names the engine whose memory options it refuses."""

from __future__ import annotations

import pytest
import torch

import fracneuron as fn

from problems import dyadic_grid, nonlinear, Y0_VEC


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


def test_gl_with_linear_part_at_alpha_one_is_imex_euler():
    t = dyadic_grid()
    y = fn.fdeint(nonlinear, Y0_VEC, t, 1.0, "gl", {"linear": 2.0})
    ref = [Y0_VEC]
    for n in range(1, t.shape[0]):
        ref.append((ref[-1] + 0.03125 * nonlinear(t[n - 1], ref[-1])) / (1 + 0.03125 * 2.0))
    assert torch.equal(y, torch.stack(ref))


def test_gl_names_the_engine_whose_memory_options_it_refuses():
    t = torch.linspace(0, 1, 5, dtype=F64)
    with pytest.raises(TypeError, match="invalid options for memory 'soe'"):
        fn.fdeint(lambda t, y: -y, torch.ones(1, dtype=F64), t, 0.5, "gl", {"memory": "soe", "memory_options": {"size": 3}})
