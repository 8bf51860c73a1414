"""SNNWrapper's per-step fast path (the lean neuron step): the plain stepped path's values and
gradients, for every integrator that charges with gl."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.neuron import BaseNeuron
from fracneuron.neuron.lean import can_step_lean


def _net(lean: bool) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(6, 8), fn.LIFNeuron(tau=2.0, surrogate_opt="sigmoid_surrogate", tau_learnable=True),
        nn.Linear(8, 4), fn.IFNeuron(tau=1.5, spk_reset="hard", v_reset=-0.2),
    )
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(6.0)
    for neuron in (net[1], net[3]):
        neuron.fused_multi_step = lean
    return net.double()


def _run(lean: bool, integrator: str, t: torch.Tensor, **kwargs):
    model = fn.SNNWrapper(_net(lean), integrator=integrator, **kwargs)
    x = torch.rand(24, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).requires_grad_()
    out = model(x, t, method="gl", options={"memory": -1})
    assert all(can_step_lean(n, x[0], BaseNeuron) == lean for n in model.neurons)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    grads = {"x": x.grad, **{name: p.grad for name, p in model.named_parameters() if p.grad is not None}}
    return out.detach(), grads


@pytest.mark.parametrize("integrator", ["fdeint", "fdeint_adjoint"])
@pytest.mark.parametrize("grid", ["unit", "half"])
def test_wrapper_fast_path_equals_stepping(integrator, grid):
    """Learned per-layer α (α's gradient through the GL weights and, off the unit grid, through
    s = h^{α−1}), a learned τ, soft and hard resets: forward equal, gradients within 1e-12."""
    t = torch.arange(24.0) if grid == "unit" else torch.linspace(0, 12, 25)  # h = 0.5
    kwargs = dict(alpha=[0.6, 0.8], alpha_mode="per_layer", learn_alpha=True)
    out, grads = _run(True, integrator, t, **kwargs)
    out_ref, grads_ref = _run(False, integrator, t, **kwargs)
    assert out.sum() > 0 and (out == 0).any()
    assert torch.equal(out, out_ref)
    assert grads.keys() == grads_ref.keys()
    assert {"base.1.memory.order.alpha_param", "base.3.memory.order.alpha_param", "base.1.tau_param"} <= grads.keys()
    for name in grads:
        scale = grads_ref[name].abs().max()
        assert scale > 0, name
        assert (grads[name] - grads_ref[name]).abs().max() <= 1e-12 * scale, name


def test_wrapper_other_methods_and_alpha_one_keep_their_own_step():
    model = fn.SNNWrapper(_net(True), integrator="fdeint", alpha=0.6)
    x = torch.rand(4, 5, 6, dtype=torch.float64)
    model(x, torch.arange(4.0), method="l1")
    assert not any(can_step_lean(n, x[0], BaseNeuron) for n in model.neurons)  # l1 is not explicit GL
    model = fn.SNNWrapper(_net(True), integrator="odeint")
    model(x, torch.arange(4.0), method="euler")
    assert not any(can_step_lean(n, x[0], BaseNeuron) for n in model.neurons)  # α = 1: the native step
