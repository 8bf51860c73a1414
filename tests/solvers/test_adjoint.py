"""fracneuron.solvers.adjoint: fdeint_adjoint gives the gradients of backpropagation through fdeint."""

from __future__ import annotations

import pytest
import torch

import fracneuron as fn


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


METHODS = ["gl", "l1", "pred", "abm", "trap"]


def mlp_problem():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    return net, (lambda t, y: net(y) - y)


@pytest.mark.parametrize("method", METHODS)
def test_adjoint_gradients_equal_backprop(method):
    net, func = mlp_problem()
    t = torch.linspace(0, 2, 41, dtype=F64)
    y0 = torch.tensor([0.3, -0.2, 0.5], dtype=F64, requires_grad=True)
    alpha = torch.tensor(0.7, dtype=F64, requires_grad=True)
    inputs = (y0, alpha, *net.parameters())
    grads = []
    for solver in (fn.fdeint, fn.fdeint_adjoint):
        out = solver(func, y0, t, alpha, method)
        grads.append(torch.autograd.grad((out**2).sum(), inputs))
        grads[-1] = (out.detach(), *grads[-1])
    for a, b in zip(*grads):
        assert (a - b).norm() <= 1e-6 * b.norm()
