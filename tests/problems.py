"""The α = 1 reduction problems the solver tests share: a nonlinear right-hand side, a dyadic grid
(every step exact in binary, so bit-for-bit comparisons with the integer-order rules hold) and a
forcing term."""

import torch

F64 = torch.float64


def nonlinear(t, y):
    return torch.sin(3 * y) - t * y


def dyadic_grid(n=64, h=0.03125):
    return torch.arange(n + 1, dtype=F64) * h


Y0_VEC = torch.tensor([0.3, -1.2, 2.0], dtype=F64)


def forcing(t):
    return torch.cos(t) * torch.tensor([1.0, 2.0, -0.5], dtype=F64)
