"""The lean single step (fracneuron.neuron.lean): the stepped neuron's values and gradients."""

from __future__ import annotations

import itertools

import pytest
import torch

from fracneuron.neuron import ALIFNeuron, BaseNeuron, IFNeuron, LIFNeuron
from fracneuron.neuron.lean import can_step_lean


def _run(cls, lean: bool, dtype=torch.float64, T: int = 60, shape=(3, 5), memory="exact", **options):
    torch.manual_seed(3)
    neuron = cls(fused_multi_step=lean, memory=memory, **options).to(dtype)
    x = (0.8 + 0.6 * torch.randn(T, *shape, dtype=dtype)).requires_grad_()
    assert can_step_lean(neuron, x[0], BaseNeuron) == lean
    spikes = torch.stack([neuron(x_n) for x_n in x])
    weights = torch.randn_like(spikes)
    ((spikes * weights).sum() + neuron.v.square().sum()).backward()
    grads = {"x": x.grad, **{name: p.grad for name, p in neuron.named_parameters() if p.grad is not None}}
    return spikes.detach(), neuron.v.detach(), grads


CASES = list(itertools.product([LIFNeuron, IFNeuron], ["soft", "hard"], [False, True], [False, True]))


@pytest.mark.parametrize("cls,reset,detach_reset,learn", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_lean_equals_stepped(cls, reset, detach_reset, learn, dtype):
    """Forward bit for bit; gradients (input, τ, α) to rounding."""
    options = dict(
        alpha=0.6, tau=2.0, spk_reset=reset, v_reset=-0.1, detach_reset=detach_reset,
        tau_learnable=learn, learn_alpha=learn, step_size=0.5, surrogate_opt="sigmoid",
    )
    spikes, v, grads = _run(cls, True, dtype, **options)
    spikes_ref, v_ref, grads_ref = _run(cls, False, dtype, **options)
    assert spikes.sum() > 0 and (spikes == 0).any()  # the resets are exercised
    assert torch.equal(spikes, spikes_ref) and torch.equal(v, v_ref)
    expected = {"x", "tau_param", "memory.order.alpha_param"} if learn else {"x"}
    assert grads.keys() == grads_ref.keys() == expected
    rtol = 1e-12 if dtype == torch.float64 else 2e-5
    for name in grads:
        scale = grads_ref[name].abs().max()
        assert (grads[name] - grads_ref[name]).abs().max() <= rtol * scale, name


@pytest.mark.parametrize("memory", ["window", "soe"])
def test_lean_per_neuron_alpha_other_engines(memory):
    options = dict(alpha=torch.linspace(0.3, 0.9, 5), tau=1.5, surrogate_opt="arctan", learn_alpha=True)
    spikes, v, grads = _run(LIFNeuron, True, memory=memory, **options)
    spikes_ref, v_ref, grads_ref = _run(LIFNeuron, False, memory=memory, **options)
    assert torch.equal(spikes, spikes_ref) and torch.equal(v, v_ref)
    for name in grads:
        torch.testing.assert_close(grads[name], grads_ref[name], rtol=1e-12, atol=1e-12 * grads_ref[name].abs().max())


def test_lean_gradcheck_input_tau_alpha():
    """float64 gradcheck of the hand-written backward w.r.t. the input, τ and α (no threshold
    crossing: the surrogate is not the Heaviside's derivative), with a non-unit step so s = h^{α−1}
    carries α's gradient too."""
    neuron = LIFNeuron(tau=2.0, threshold=1e9, alpha=0.45, step_size=0.5).double()
    assert can_step_lean(neuron, torch.zeros(2, 3), BaseNeuron)
    x = torch.randn(12, 2, 3, dtype=torch.float64, requires_grad=True)
    tau_param = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor(0.45, dtype=torch.float64, requires_grad=True)

    def final_potential(x, tau_param, alpha):
        neuron.reset()
        neuron.tau_learnable, neuron.tau_param = True, tau_param  # a plain tensor: gradcheck's own
        neuron.memory.order.learn_alpha, neuron.memory.order.alpha_param = False, alpha.reshape(1)
        neuron.memory.order._cache.clear()
        for x_n in x:
            neuron(x_n)
        return neuron.v

    assert torch.autograd.gradcheck(final_potential, (x, tau_param, alpha))


def test_lean_only_where_it_applies():
    x = torch.randn(2, 3)
    assert can_step_lean(LIFNeuron(alpha=0.5), x, BaseNeuron)
    assert can_step_lean(IFNeuron(alpha=0.5, memory="soe", learn_alpha=True), x, BaseNeuron)
    assert not can_step_lean(LIFNeuron(alpha=1.0), x, BaseNeuron)  # α = 1: the native step
    assert not can_step_lean(ALIFNeuron(alpha=0.5), x, BaseNeuron)  # its own threshold
    assert not can_step_lean(LIFNeuron(alpha=0.5, refractory=2), x, BaseNeuron)
    assert not can_step_lean(LIFNeuron(alpha=0.5, trace_tau=3.0), x, BaseNeuron)
    assert not can_step_lean(LIFNeuron(alpha=0.5, fused_multi_step=False), x, BaseNeuron)
    assert not can_step_lean(LIFNeuron(alpha=0.5), x.long(), BaseNeuron)


def test_lean_chunks_with_detach_equal_stepping():
    """Truncated BPTT: two chunks with detach() in between, lean and stepped."""
    def chunks(lean):
        torch.manual_seed(1)
        neuron = LIFNeuron(alpha=0.6, tau=2.0, learn_alpha=True, fused_multi_step=lean).double()
        x = (0.8 + 0.6 * torch.randn(2, 20, 4, 3, dtype=torch.float64)).requires_grad_()
        out = []
        for chunk in x:
            spikes = torch.stack([neuron(x_n) for x_n in chunk])
            spikes.sum().backward()
            out.append(spikes.detach())
            neuron.detach()
        return torch.stack(out), x.grad, neuron.memory.order.alpha_param.grad

    (s, gx, ga), (s_ref, gx_ref, ga_ref) = chunks(True), chunks(False)
    assert torch.equal(s, s_ref)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-12, atol=1e-12 * gx_ref.abs().max())
    torch.testing.assert_close(ga, ga_ref, rtol=1e-12, atol=0.0)


def test_learned_scale_is_rebuilt_per_sequence_and_never_copied():
    """s = h^{α−1} of a learned α is built once per sequence: after an optimizer step and reset()
    the next sequence uses the new α (the same gradients as recording every step), and a copy taken
    mid-sequence carries no graph."""
    import copy

    def two_sequences(lean):
        torch.manual_seed(4)
        neuron = LIFNeuron(alpha=0.6, tau=2.0, learn_alpha=True, step_size=0.5, fused_multi_step=lean).double()
        optimizer = torch.optim.SGD(neuron.parameters(), lr=0.5)
        x = 1.5 + torch.randn(2, 15, 4, 3, dtype=torch.float64)
        grads = []
        for sequence in x:
            neuron.reset()
            optimizer.zero_grad()
            spikes = torch.stack([neuron(x_n) for x_n in sequence])
            copy.deepcopy(neuron)  # mid-sequence: values only
            (spikes.sum() + neuron.v.sum()).backward()
            grads.append(neuron.memory.order.alpha_param.grad.clone())
            optimizer.step()
        return torch.stack(grads)

    lean, recorded = two_sequences(True), two_sequences(False)
    assert lean[0].ne(lean[1]).all()  # α moved between the sequences
    torch.testing.assert_close(lean, recorded, rtol=1e-12, atol=0.0)
