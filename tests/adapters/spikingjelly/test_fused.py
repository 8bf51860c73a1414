"""The fused multi-step path of fractional IF/LIF/PLIF nodes (issue 13) against the stepped path.

Every case runs one node on the fused path and a copy with ``fused_multi_step = False`` (stepped,
recorded step by step by autograd): spikes and membrane equal bit for bit at every step, gradients
(input, PLIF's w, α per layer and per neuron) within 1e-12 relative in float64.
"""

from __future__ import annotations

import copy
import warnings

import pytest
import torch
from spikingjelly.activation_based import base, functional, neuron, surrogate

import fracneuron as fn

T, B, N = 24, 3, 5

NODES = {
    "lif_hard": (neuron.LIFNode, dict(tau=2.0)),
    "lif_soft": (neuron.LIFNode, dict(tau=2.0, v_reset=None)),
    "lif_no_decay_detached": (neuron.LIFNode, dict(tau=3.0, decay_input=False, detach_reset=True)),
    "lif_reset_0.3": (neuron.LIFNode, dict(tau=1.5, v_reset=0.3, v_threshold=1.2)),
    "if_hard": (neuron.IFNode, dict()),
    "if_soft_atan": (neuron.IFNode, dict(v_reset=None, surrogate_function=surrogate.ATan(alpha=3.0))),
    "plif": (neuron.ParametricLIFNode, dict(init_tau=2.0)),
    "plif_soft_no_decay": (neuron.ParametricLIFNode, dict(init_tau=3.0, v_reset=None, decay_input=False)),
}
ALPHAS = {
    "fixed": dict(alpha=0.6),
    "learned": dict(alpha=0.7, learn_alpha=True),
    "learned_per_neuron": dict(alpha=0.65, learn_alpha=True, per_neuron=True),
    "multi_term_learned": dict(alpha=[0.5, 0.8], coefficients=[1.0, 0.5], learn_alpha=True, learn_coefficients=True),
}
MEMORIES = {"exact": dict(memory="exact"), "soe": dict(memory="soe"), "window": dict(memory="window", memory_options={"window": 6})}


def pair(case: str, alpha: str = "fixed", memory: str = "exact"):
    cls, kwargs = NODES[case]
    fused = fn.fractional(cls)(step_mode="m", **kwargs, **ALPHAS[alpha], **MEMORIES[memory]).double()
    stepped = copy.deepcopy(fused)
    stepped.fused_multi_step = False
    return fused, stepped


def drive(steps: int = T, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (2.5 * torch.rand(steps, B, N, generator=generator, dtype=torch.float64)).requires_grad_()


def loss_of(spikes: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    weights = torch.linspace(0.5, 1.5, spikes[0].numel(), dtype=spikes.dtype).reshape(spikes.shape[1:])
    return (spikes * weights).sum() + (v**2).sum()


def grads(node, x, loss):
    params = [p for p in node.parameters() if p.requires_grad]
    return torch.autograd.grad(loss, [x, *params])


def assert_close_rel(got, want, rel=1e-12):
    for a, b in zip(got, want, strict=True):
        scale = b.abs().max().clamp_min(1e-300)
        assert ((a - b).abs().max() / scale).item() <= rel, (a, b)


@pytest.mark.parametrize("memory", MEMORIES)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("case", NODES)
def test_fused_equals_stepped(case, alpha, memory):
    fused, stepped = pair(case, alpha, memory)
    assert "multi_step_path=fused" in repr(fused) and "multi_step_path=stepped" in repr(stepped)
    x = drive()
    results = []
    for node in (fused, stepped):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no cut-graph warnings on either path
            spikes = node(x)
        v = node.v
        results.append((spikes, v, grads(node, x, loss_of(spikes, v))))
    (s1, v1, g1), (s2, v2, g2) = results
    assert 0.02 < s2.mean().item() < 0.98  # the drive makes the neurons fire, and not always
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    assert_close_rel(g1, g2)
    if alpha != "fixed":
        assert g2[-1].abs().sum() > 0  # α gets a gradient


@pytest.mark.parametrize("memory", ["exact", "soe"])
def test_every_step_membrane_equals_stepped(memory):
    """The membrane after every step (fused calls of one step each vs one fused call vs stepped)."""
    fused, stepped = pair("lif_hard", "fixed", memory)
    x = drive().detach()
    whole = fused(x)
    per_step_v = []
    for x_t in x.unbind(0):
        stepped(x_t.unsqueeze(0))  # one-step 'm' calls of the stepped path: v after every step
        per_step_v.append(stepped.v)
    functional.reset_net(stepped)
    stepped.store_v_seq = True  # SpikingJelly's own v_seq (store_v_seq steps)
    assert torch.equal(stepped(x), whole)
    assert torch.equal(stepped.v_seq, torch.stack(per_step_v))
    assert torch.equal(fused.v, per_step_v[-1])


@pytest.mark.parametrize("memory", ["exact", "soe"])
@pytest.mark.parametrize("detach", [True, False])
def test_chunks_equal_one_stepped_sequence(memory, detach):
    """TBPTT with ``functional.detach_net`` between chunks, and chunks without it (the memory's
    gradient reaches the earlier chunks through their links), equal the stepped path."""
    results = []
    for node in pair("lif_hard", "learned_per_neuron", memory):
        x = drive(seed=3)
        outputs = []
        for chunk in x.split([7, 11, 6]):
            outputs.append(node(chunk))
            if detach:
                functional.detach_net(node)
        spikes = torch.cat(outputs)
        results.append((spikes, grads(node, x, loss_of(spikes, node.v))))
    (s1, g1), (s2, g2) = results
    assert torch.equal(s1, s2)
    assert_close_rel(g1, g2)


def test_functional_forward_is_pure_on_the_fused_path():
    fused, _ = pair("lif_hard", "fixed", "exact")
    x = drive().detach()
    fused(x[:5])
    states = tuple(base.extract_memories(fused))
    before = [s.steps if hasattr(s, "steps") else s.clone() for s in states]
    (first,), new_states = fused.functional_forward((x[5:],), states)
    (again,), _ = fused.functional_forward((x[5:],), states)
    assert torch.equal(first, again)
    assert [s.steps if hasattr(s, "steps") else s for s in states][0] is not None
    assert states[1].steps == before[1] and torch.equal(states[0], before[0])
    assert new_states[1].steps == T
    assert torch.equal(fused(x[5:]), first)  # the module's own state: the same continuation


def test_alpha_one_is_the_native_node():
    native = neuron.LIFNode(tau=2.0, step_mode="m").double()
    node = fn.fractional(neuron.LIFNode)(tau=2.0, step_mode="m", alpha=1.0).double()
    assert "multi_step_path=native" in repr(node)
    x = drive()
    spikes = node(x)
    assert torch.equal(spikes, native(x)) and torch.equal(node.v, native.v)


def test_stepped_where_the_fused_path_cannot_run():
    fused, _ = pair("lif_hard", "fixed", "exact")
    x = drive()
    fused.step_mode = "s"
    fused(x[0])
    fused(x[1])  # u_1 depends on x_0: the past now carries a graph
    fused.step_mode = "m"
    calls = []
    original = fused.fractional_step

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    fused.fractional_step = counting
    fused(x[2:5])
    assert len(calls) == 3  # stepped: a graph-carrying past
    functional.detach_net(fused)
    fused(x[5:8])
    assert len(calls) == 3  # fused again after detach_net


class _OwnCharge(neuron.LIFNode):
    pass


def test_repr_reports_the_path_of_subclasses_and_options():
    node = fn.fractional(_OwnCharge)(tau=2.0, step_mode="m", alpha=0.6)
    assert "multi_step_path=fused" in repr(node)
    node.fused_multi_step = False
    assert "multi_step_path=stepped" in repr(node)


@pytest.mark.parametrize("memory", ["exact", "soe"])
@pytest.mark.parametrize(
    "case, alpha",
    [("plif", "learned"), ("plif_soft_no_decay", "learned_per_neuron"), ("lif_hard", "learned_per_neuron"), ("if_hard", "learned")],
)
def test_gradcheck_of_the_hand_written_backward(case, alpha, memory):
    """float64 gradcheck w.r.t. the input, PLIF's w and α, with a smooth fire (the surrogate's
    primitive, ``spiking=False``) so that the forward is differentiable and the backward must be
    its exact gradient."""
    cls, kwargs = NODES[case]
    kwargs = dict(kwargs, surrogate_function=surrogate.Sigmoid(alpha=2.0, spiking=False))
    node = fn.fractional(cls)(step_mode="m", **kwargs, **ALPHAS[alpha], **MEMORIES[memory]).double()
    x = drive(steps=9)
    node(x.detach())  # materializes a per-neuron α
    functional.reset_net(node)
    names = [name for name, p in node.named_parameters() if p.requires_grad]
    assert any("alpha" in name for name in names)
    assert "multi_step_path=fused" in repr(node)

    def run(x, *params):
        functional.reset_net(node)
        spikes = torch.func.functional_call(node, dict(zip(names, params)), (x,))
        return spikes, node.v

    params = [p.detach().clone().requires_grad_() for p in node.parameters() if p.requires_grad]
    assert torch.autograd.gradcheck(run, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-6)


def test_plugins_listing_names_the_path():
    from fracneuron.cli import plugins_report

    report = plugins_report()
    assert "LIFNode ('m': fused)" in report and "SimpleLIFNode (stepped)" in report


@pytest.mark.parametrize("cls", __import__("fracneuron_spikingjelly.cells", fromlist=["x"]).HEAVISIDE_SURROGATES)
def test_graph_free_fire_is_the_surrogates_own(cls):
    """Without a graph the cell fires by ``heaviside`` for the listed surrogates: the same spikes
    as the surrogate module itself, at 0, ±tiny, ±inf and NaN; a subclass, a hook or non-spiking
    mode goes through the module."""
    from fracneuron_spikingjelly.cells import cell_for

    node = fn.fractional(neuron.LIFNode)(step_mode="m", alpha=0.6, surrogate_function=cls())
    cell = cell_for(node)
    assert cell.heaviside
    tiny = torch.finfo(torch.float32).tiny
    z = torch.tensor([0.0, -0.0, tiny, -tiny, 1.0, -1.0, float("inf"), -float("inf"), float("nan")])
    with torch.no_grad():
        assert torch.equal(cell.fire(z), node.surrogate_function(z))
        out = torch.full_like(z, 7.0)  # written into a row of the sequence's spikes, every entry
        assert cell.fire_into(z, out) is out and torch.equal(out, node.surrogate_function(z))
    node.surrogate_function = type("Sub", (cls,), {})()
    with torch.no_grad():  # through the module: its spikes copied into the row
        out = torch.full_like(z, 7.0)
        assert torch.equal(cell_for(node).fire_into(z, out), node.surrogate_function(z))
    assert not cell_for(node).heaviside
    node.surrogate_function = cls()
    node.surrogate_function.set_spiking_mode(False)
    assert not cell_for(node).heaviside
    node.surrogate_function = cls()
    node.surrogate_function.register_forward_hook(lambda module, args, out: out)
    assert not cell_for(node).heaviside


@pytest.mark.parametrize("memory", ["exact", "soe"])
def test_fused_call_leaves_no_reference_cycle(memory):
    # the node's sequence holds its history, the state the sequence's link: a reset must leave
    # nothing (the stored past included) to the cycle collector
    from cycles import cycle_garbage

    node = fn.fractional(neuron.LIFNode)(tau=2.0, step_mode="m", alpha=0.6, memory=memory, learn_alpha=True)
    x = torch.rand(20, 3, 5, requires_grad=True)

    def run():
        functional.reset_net(node)
        node(x).sum().backward()
        functional.reset_net(node)

    assert node.multi_step_path == "fused"
    assert cycle_garbage(run) == {}
