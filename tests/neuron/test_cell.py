"""The native neurons' cell (fracneuron.neuron.cell): its derivatives are those of its own forward."""

from __future__ import annotations

import pytest
import torch

from fracneuron.neuron import IFNeuron, LIFNeuron
from fracneuron.neuron.cell import NeuronCell


@pytest.mark.parametrize("cls", [LIFNeuron, IFNeuron])
@pytest.mark.parametrize("options", [dict(), dict(spk_reset="hard", v_reset=0.3, step_size=0.5)])
def test_partials_are_autograd_of_the_forward(cls, options):
    neuron = cls(tau=1.7, alpha=0.6, tau_learnable=True, **options).double()
    with torch.no_grad():
        neuron.tau_param.fill_(0.3)
    cell = NeuronCell(neuron)
    assert cell.params == (neuron.tau_param,)
    generator = torch.Generator().manual_seed(1)
    x, v = (torch.randn(2, 4, 3, generator=generator, dtype=torch.float64).requires_grad_() for _ in range(2))
    # the increment is the model's own h·dv/dt, bit for bit
    with torch.no_grad():
        assert torch.equal(cell.increment(x, v), neuron.step_size * neuron.dv_dt(v, x))
        assert torch.equal(cell.charge(x, v), v + cell.increment(x, v))
    # ∂C/∂x, ∂C/∂v and the learned τ's gradient against autograd of C = v + h f(v, x) with τ's graph
    charged = v + neuron.step_size * neuron.dv_dt(v, x)
    weight = torch.randn(charged.shape, generator=generator, dtype=torch.float64)
    gx, gv, gphi = torch.autograd.grad((charged * weight).sum(), [x, v, neuron.tau_param])
    dx, dv = cell.charge_partials()
    torch.testing.assert_close(gx, weight * dx, rtol=1e-14, atol=0)
    torch.testing.assert_close(gv, weight * dv, rtol=1e-14, atol=0)
    (param_grad,) = cell.param_grads(x.detach(), v.detach(), weight)
    torch.testing.assert_close(param_grad, gphi, rtol=1e-13, atol=0)


@pytest.mark.parametrize("reset", [dict(spk_reset="soft"), dict(spk_reset="hard", v_reset=-0.2)])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_fire_and_reset_partials(reset, detach_reset):
    neuron = LIFNeuron(alpha=0.6, threshold=0.8, surrogate_opt="arctan", detach_reset=detach_reset, **reset).double()
    cell = NeuronCell(neuron)
    H = torch.linspace(-1.0, 2.0, 31, dtype=torch.float64).requires_grad_()
    spikes = neuron.fire(H)
    with torch.no_grad():
        assert torch.equal(cell.fire(H - cell.threshold), spikes)
    (slope,) = torch.autograd.grad(spikes.sum(), H)
    torch.testing.assert_close(cell.fire_slope(H.detach() - cell.threshold), slope, rtol=1e-15, atol=0)
    # ∂R/∂H and ∂R/∂S of the neuron's own reset (S an input here)
    S = spikes.detach().requires_grad_()
    gH, gS = torch.autograd.grad(neuron.reset_potential(H, S).sum(), [H, S], allow_unused=True)
    through_H, through_S = cell.reset_partials(H.detach(), S.detach())
    torch.testing.assert_close(torch.as_tensor(through_H, dtype=H.dtype).expand_as(gH), gH)
    if detach_reset:
        assert through_S is None and gS is None
    else:
        torch.testing.assert_close(torch.as_tensor(through_S, dtype=H.dtype).expand_as(gS), gS)


@pytest.mark.parametrize("reset", [dict(spk_reset="soft"), dict(spk_reset="hard", v_reset=-0.2)])
@pytest.mark.parametrize("threshold", [0.8, -0.3])
def test_fire_into_and_reset_are_the_neurons_bit_for_bit(reset, threshold):
    # the fused forward fires into the spikes' row and resets in one pass (soft: H − θ·S): the
    # neuron's own values, signed zeros, H = θ and non-finite values included
    neuron = LIFNeuron(alpha=0.6, threshold=threshold, **reset)
    cell = NeuronCell(neuron)
    special = torch.tensor([0.0, -0.0, threshold, -threshold, float("inf"), -float("inf"), float("nan")])
    H = torch.cat([torch.linspace(-2.0, 2.0, 41), special]).reshape(3, 16)
    with torch.no_grad():
        spikes = neuron.fire(H)
        row = torch.full_like(H, 7.0)
        assert cell.fire_into(H - cell.threshold, row) is row and torch.equal(row, spikes)
        got, want = cell.reset(H, spikes), neuron.reset_potential(H, spikes)
    assert torch.equal(got.isnan(), want.isnan())
    assert torch.equal(torch.nan_to_num(got), torch.nan_to_num(want))
    assert torch.equal(torch.signbit(got), torch.signbit(want))
    # a soft reset: H − θ recovered from the post-reset state, bit for bit (the backward's input)
    assert cell.recovers_fire_input == (reset["spk_reset"] == "soft")
    if cell.recovers_fire_input:
        z, want_z = cell.fire_input(got, spikes), H - cell.threshold
        assert torch.equal(z.isnan(), want_z.isnan())
        assert torch.equal(torch.nan_to_num(z), torch.nan_to_num(want_z))
