"""torch.compile sees fractional neurons as it sees native ones (issue 12): no graph breaks, one
graph for a 16-step sequence, and the compiled model computes what the eager one does — values
and gradients, α's included — with ``backend="aot_eager"`` (no C++ toolchain needed on CPU).
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch._dynamo as dynamo

import fracneuron as fn

T, B, N = 16, 4, 8


def drive(seed=0):
    g = torch.Generator().manual_seed(seed)
    return 2.0 * torch.rand(T, B, N, generator=g)


def native_lif(learn_alpha=False):
    return fn.LIFNeuron(tau=2.0, alpha=0.6, learn_alpha=learn_alpha, step_mode="m")


def spikingjelly_net():
    layer = pytest.importorskip("spikingjelly.activation_based.layer")
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    functional = pytest.importorskip("spikingjelly.activation_based.functional")
    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.Linear(N, N, step_mode="m"), neuron.LIFNode(step_mode="m"))
    fn.fractionalize(net, alpha=0.6, learn_alpha=True)
    functional.reset_net(net)
    return net, lambda: functional.reset_net(net)


def snntorch_loop():
    snn = pytest.importorskip("snntorch")
    lif = fn.fractional(snn.Leaky)(beta=0.5, alpha=0.6, learn_alpha=True)

    def run(x):
        mem = lif.init_leaky()
        out = []
        for t in range(x.shape[0]):
            spk, mem = lif(x[t], mem)
            out.append(spk + mem)
        return torch.stack(out)

    return lif, run


def _cases():
    """name -> (module holding the parameters, function of x, reset between runs)."""
    lif = native_lif(learn_alpha=True)
    net, reset_net = spikingjelly_net()
    leaky, loop = snntorch_loop()
    return {
        "native LIFNeuron": (lif, lambda x: lif(x), lif.reset),
        "SpikingJelly Linear -> LIFNode, learned alpha": (net, lambda x: net(x), reset_net),
        "snnTorch Leaky loop, learned alpha": (leaky, loop, lambda: None),
    }


@pytest.mark.parametrize("name", ["native LIFNeuron", "SpikingJelly Linear -> LIFNode, learned alpha", "snnTorch Leaky loop, learned alpha"])
def test_sixteen_steps_trace_in_one_graph_without_breaks(name):
    module, run, reset = _cases()[name]
    dynamo.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanation = dynamo.explain(run)(drive())
    assert explanation.graph_break_count == 0, [str(b.reason)[:200] for b in explanation.break_reasons]
    assert explanation.graph_count <= 2


@pytest.mark.parametrize("name", ["native LIFNeuron", "SpikingJelly Linear -> LIFNode, learned alpha", "snnTorch Leaky loop, learned alpha"])
def test_compiled_and_eager_give_the_same_values_and_gradients(name):
    module, run, reset = _cases()[name]
    params = [p for p in module.parameters() if p.requires_grad]
    x = drive(1)

    def loss_and_grads(f):
        reset()
        out = f(x)
        grads = torch.autograd.grad((out * torch.linspace(0.5, 1.5, T)[:, None, None]).sum(), params)
        reset()
        return out.detach(), grads

    want, want_grads = loss_and_grads(run)
    dynamo.reset()
    got, got_grads = loss_and_grads(torch.compile(run, backend="aot_eager", fullgraph=True))
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    for g, w in zip(got_grads, want_grads):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-5)
    assert any(g.abs().sum() > 0 for g in got_grads)


@pytest.mark.parametrize("cls", ["Leaky", "Synaptic", "Lapicque", "RLeaky", "RSynaptic"])
def test_snntorch_neurons_compile_with_fullgraph_as_its_own_tests_ask(cls):
    """snnTorch's test_<neuron>_compile_fullgraph, with the neuron made fractional (α = 0.7)."""
    snn = pytest.importorskip("snntorch")
    kwargs = {"beta": 0.5, "surrogate_disable": True}
    if cls in ("Synaptic", "RSynaptic"):
        kwargs.update(alpha=0.5, frac_alpha=0.7)
    else:
        kwargs.update(alpha=0.7)
    if cls.startswith("R"):
        kwargs.update(all_to_all=False)
    if cls == "Lapicque":
        kwargs = {"beta": 0.5, "surrogate_disable": True, "alpha": 0.7}
    neuron = fn.fractional(getattr(snn, cls))(**kwargs)
    dynamo.reset()
    explanation = dynamo.explain(neuron)(torch.tensor([0.25, 0.0]).unsqueeze(-1)[0])
    assert explanation.graph_break_count == 0


def test_a_sequence_may_switch_between_eager_and_compiled_steps():
    """The past's values carry over a switch (their gradient is cut there, as by detach)."""
    x = drive(2)
    whole = fn.LIFNeuron(tau=2.0, alpha=0.6)
    want = torch.stack([whole(xt) for xt in x])
    mixed = fn.LIFNeuron(tau=2.0, alpha=0.6)
    step = torch.compile(lambda xt: mixed(xt), backend="aot_eager", fullgraph=True)
    dynamo.reset()
    got = [mixed(xt) for xt in x[:5]] + [step(xt) for xt in x[5:11]] + [mixed(xt) for xt in x[11:]]
    torch.testing.assert_close(torch.stack(got), want, rtol=1e-5, atol=1e-6)
    assert mixed.memory.steps == T
