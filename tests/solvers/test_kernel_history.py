"""fracneuron.solvers.kernel_history: two kernels over one past equal each kernel alone, values and gradients."""

from __future__ import annotations

import pytest
import torch


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


# ----------------------------------------------------------------------------- history sums
@pytest.mark.parametrize("columns", [3, 80])  # one-step blocks (a matrix product) and blocked GEMMs
def test_two_kernels_over_one_past_equal_each_kernel_alone(columns):
    from fracneuron.order import FractionalOrder
    from fracneuron.solvers.kernel_history import KernelHistory

    torch.manual_seed(0)
    order = FractionalOrder(0.6)
    lags = torch.arange(1, 4097, dtype=F64)
    kernels = torch.stack([lags**-0.4, torch.exp(-0.1 * lags)], dim=1)  # [R, 2]
    xs = torch.randn(40, columns, dtype=F64, requires_grad=True)
    both, first, second = KernelHistory(lambda R: kernels[:R], kernels=2), *(
        KernelHistory(lambda R, k=k: kernels[:R, k]) for k in range(2)
    )
    together = torch.stack([both(x, order) for x in xs])  # [T, 2, Q]
    alone = torch.stack([torch.stack([first(x, order), second(x, order)]) for x in xs])
    torch.testing.assert_close(together, alone, rtol=1e-14, atol=1e-14)
    weights = torch.randn_like(alone)
    (grad_together,) = torch.autograd.grad((together * weights).sum(), xs)
    (grad_alone,) = torch.autograd.grad((alone * weights).sum(), xs)
    torch.testing.assert_close(grad_together, grad_alone, rtol=1e-13, atol=1e-13)
