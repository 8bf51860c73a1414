"""fracneuron.functional.reset_free: the parallel-in-time (FFT) path of a reset-free linear
fractional node equals stepping the neuron, and its gradients (α included) pass gradcheck."""

from __future__ import annotations

import pytest
import torch
from torch.func import functional_call

from fracneuron.functional.reset_free import leaky_integrator
from fracneuron.neuron import IFNeuron, LIFNeuron
from fracneuron.order import FractionalOrder


@pytest.mark.parametrize("neuron, leak", [(LIFNeuron, 1.0), (IFNeuron, 0.0)], ids=["LIF", "IF"])
@pytest.mark.parametrize(
    "order",
    [dict(alpha=0.3), dict(alpha=[0.4, 0.9], coefficients=[1.0, 0.5]), dict(alpha=torch.tensor([0.3, 0.6, 1.0]))],
    ids=["single", "multi-term", "per-neuron"],
)
def test_parallel_path_equals_stepping_a_reset_free_neuron(neuron, leak, order):
    torch.manual_seed(10)
    x = torch.randn(200, 2, 3, dtype=torch.float64)
    layer = neuron(tau=2.0, threshold=1e30, memory="exact", step_size=0.5, spk_reset="hard", v_reset=0.3, **order).double()
    layer.v = torch.full((2, 3), -0.2, dtype=torch.float64)  # start away from rest
    v = []
    for xt in x:
        layer(xt)
        v.append(layer.v)
    fast = leaky_integrator(x, FractionalOrder(step_size=0.5, **order), 2.0, leak=leak, v_rest=0.3, v_init=-0.2)
    assert torch.allclose(fast, torch.stack(v), rtol=0, atol=1e-12)


def test_parallel_path_gradients():
    torch.manual_seed(11)
    order = FractionalOrder(0.55, learn_alpha=True).double()
    x = torch.randn(24, 2, 3, dtype=torch.float64, requires_grad=True)
    tau = torch.tensor([1.5, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([0.55], dtype=torch.float64, requires_grad=True)

    class Readout(torch.nn.Module):  # the order as a submodule, so functional_call can swap α
        def __init__(self):
            super().__init__()
            self.order = order

        def forward(self, x, tau):
            return leaky_integrator(x, self.order, tau)

    readout = Readout()

    def f(x, tau, alpha):
        return functional_call(readout, {"order.alpha_param": alpha}, (x, tau))

    # fast mode (a random projection of the Jacobian): each evaluation runs a dozen small FFTs
    assert torch.autograd.gradcheck(f, (x, tau, alpha), fast_mode=True)
