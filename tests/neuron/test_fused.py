"""The fused multi-step path (fracneuron.fused): the stepped neuron's values and gradients."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from fracneuron.neuron.fused import can_fuse
from fracneuron.neuron import ALIFNeuron, BaseNeuron, IFNeuron, LIFNeuron


def _run(cls, fused: bool, dtype=torch.float64, T: int = 200, shape=(3, 5), **options):
    torch.manual_seed(3)
    neuron = cls(step_mode="m", memory="soe", fused_multi_step=fused, **options).to(dtype)
    x = (0.8 + 0.6 * torch.randn(T, *shape, dtype=dtype)).requires_grad_()
    assert can_fuse(neuron, x, BaseNeuron) == fused
    spikes = neuron(x)
    weights = torch.randn_like(spikes)
    ((spikes * weights).sum() + neuron.v.square().sum()).backward()
    grads = {"x": x.grad, **{name: p.grad for name, p in neuron.named_parameters() if p.grad is not None}}
    return spikes.detach(), neuron.v.detach(), grads


CASES = list(itertools.product([LIFNeuron, IFNeuron], ["soft", "hard"], [False, True], [False, True]))


@pytest.mark.parametrize("cls,reset,detach_reset,tau_learnable", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_equals_stepped(cls, reset, detach_reset, tau_learnable, dtype):
    options = dict(
        alpha=0.6, tau=2.0, spk_reset=reset, v_reset=-0.1, detach_reset=detach_reset, tau_learnable=tau_learnable, surrogate_opt="sigmoid"
    )
    spikes, v, grads = _run(cls, True, dtype, **options)
    spikes_ref, v_ref, grads_ref = _run(cls, False, dtype, **options)
    assert spikes.sum() > 0 and (spikes == 0).any()  # the resets are exercised
    # the forward runs the very operations of the stepped neuron
    assert torch.equal(spikes, spikes_ref) and torch.equal(v, v_ref)
    assert grads.keys() == grads_ref.keys() == ({"x", "tau_param"} if tau_learnable else {"x"})
    rtol = 1e-12 if dtype == torch.float64 else 2e-5
    for name in grads:
        scale = grads_ref[name].abs().max()
        assert (grads[name] - grads_ref[name]).abs().max() <= rtol * scale, name


def test_fused_per_neuron_alpha_and_surrogates():
    alphas = torch.linspace(0.3, 0.9, 5)
    for surrogate in ("arctan", "fast_sigmoid", "triangle"):
        options = dict(alpha=alphas, tau=1.5, surrogate_opt=surrogate)
        spikes, v, grads = _run(LIFNeuron, True, **options)
        spikes_ref, v_ref, grads_ref = _run(LIFNeuron, False, **options)
        assert torch.equal(spikes, spikes_ref) and torch.equal(v, v_ref)
        torch.testing.assert_close(grads["x"], grads_ref["x"], rtol=1e-12, atol=1e-12 * grads_ref["x"].abs().max())


def test_fused_gradcheck_inputs_and_tau():
    """float64 gradcheck of the hand-written backward (no threshold crossing: the surrogate is not
    the derivative of the Heaviside, so only the reset-free dynamics can be checked by differences)."""
    neuron = LIFNeuron(tau=2.0, threshold=1e9, alpha=0.45, memory="soe", tau_learnable=True, step_mode="m").double()
    x = torch.randn(40, 2, 3, dtype=torch.float64, requires_grad=True)

    def final_potential(x, tau_param):
        neuron.reset()
        neuron.tau_param.data.copy_(tau_param.detach())
        neuron.tau_param.grad = None
        spikes = neuron(x)
        return spikes, neuron.v

    assert can_fuse(neuron, x, BaseNeuron)
    tau_param = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    # tau_param enters through the module: check it against a finite difference by hand
    assert torch.autograd.gradcheck(lambda x: final_potential(x, tau_param)[1], (x,))
    _, v = final_potential(x, tau_param)
    v.sum().backward()
    analytic = neuron.tau_param.grad.item()
    eps = 1e-6
    with torch.no_grad():
        plus = final_potential(x, tau_param + eps)[1].sum().item()
        minus = final_potential(x, tau_param - eps)[1].sum().item()
    assert analytic == pytest.approx((plus - minus) / (2 * eps), rel=1e-6)


def test_fused_only_where_it_applies():
    x = torch.randn(8, 2, 3)
    assert can_fuse(LIFNeuron(alpha=0.5, memory="soe", step_mode="m"), x, BaseNeuron)
    assert can_fuse(IFNeuron(alpha=0.5, memory="soe", step_mode="m"), x, BaseNeuron)
    # trained α needs the gradient of the kernel: stepped
    assert not can_fuse(LIFNeuron(alpha=0.5, memory="soe", learn_alpha=True, step_mode="m"), x, BaseNeuron)
    with torch.no_grad():  # … unless no gradient is recorded
        assert can_fuse(LIFNeuron(alpha=0.5, memory="soe", learn_alpha=True, step_mode="m"), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, memory="exact", step_mode="m"), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=1.0, memory="soe", step_mode="m"), x, BaseNeuron)
    assert not can_fuse(ALIFNeuron(alpha=0.5, memory="soe", step_mode="m"), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, memory="soe", step_mode="m", fused_multi_step=False), x, BaseNeuron)
    # a past recorded step by step keeps being stepped (its graph must reach the new steps)
    neuron = LIFNeuron(alpha=0.5, memory="soe")
    neuron(torch.randn(2, 3, requires_grad=True))
    assert can_fuse(neuron, x, BaseNeuron)  # the past is u_0, a constant; v_1 carries the graph into the call
    neuron(torch.randn(2, 3, requires_grad=True))
    assert not can_fuse(neuron, x, BaseNeuron)
    neuron.detach()
    assert can_fuse(neuron, x, BaseNeuron)


def _chunks(fused: bool, cut: str):
    """Two calls on one sequence; between them ``cut`` = "detach" (TBPTT) or "memory" (only the
    memory's past is cut: what a second fused call does, with a warning)."""
    torch.manual_seed(5)
    neuron = LIFNeuron(alpha=0.55, tau=2.0, memory="soe", step_mode="m", fused_multi_step=fused).double()
    x1 = (0.8 + 0.5 * torch.randn(30, 2, 4, dtype=torch.float64)).requires_grad_()
    x2 = (0.8 + 0.5 * torch.randn(30, 2, 4, dtype=torch.float64)).requires_grad_()
    first = neuron(x1)
    if cut == "detach":
        neuron.detach()
    elif not fused:
        neuron.memory.detach()
    second = neuron(x2)
    (first.sum() + (second * torch.linspace(0, 1, 4, dtype=torch.float64)).sum() + neuron.v.sum()).backward()
    return torch.cat([first, second]), x1.grad, x2.grad


def test_fused_sequences_in_chunks():
    # truncated BPTT: the same values and gradients as stepping, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fused = _chunks(True, "detach")
    for a, b in zip(fused, _chunks(False, "detach")):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    # continued without detach(): the gradient reaches the first chunk through v (grad of v_init),
    # not through the memory's past, and the user is told so
    with pytest.warns(RuntimeWarning, match="gradient through the memory into the earlier call is cut"):
        fused = _chunks(True, "none")
    reference = _chunks(False, "memory")
    assert fused[1].abs().sum() > 0
    for a, b in zip(fused, reference):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_fused_state_continues_stepwise():
    """After a fused call the module holds the stepped neuron's state: single steps continue it."""
    torch.manual_seed(2)
    x = 0.9 + 0.5 * torch.randn(50, 2, 3, dtype=torch.float64)
    fused = LIFNeuron(alpha=0.7, memory="soe", step_mode="m").double()
    stepped = LIFNeuron(alpha=0.7, memory="soe", step_mode="s").double()
    with torch.no_grad():
        head = fused(x[:30])
        fused.step_mode = "s"
        tail = torch.stack([fused(xt) for xt in x[30:]])
        reference = torch.stack([stepped(xt) for xt in x])
    assert torch.equal(torch.cat([head, tail]), reference)
    assert fused.memory.steps == stepped.memory.steps == 50
