"""fracneuron_spikingjelly.swap: fractionalize makes every supported node of a model fractional in
place, keeping what each had; refuses a model with an unsupported node and changes nothing; the
example network is made fractional in one call."""

import copy

import pytest
import torch
from torch import nn

import fracneuron as fn

pytest.importorskip("spikingjelly")

from spikingjelly.activation_based import neuron  # noqa: E402


class Custom(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body
        self.extra = neuron.IFNode(step_mode="m")

    def forward(self, x):
        return self.body(x) + self.extra(torch.zeros(x.shape[0], x.shape[1], 3)).mean(0)


def test_fractionalize_swaps_every_node_in_place_and_keeps_what_they_had(conv_snn, images):
    torch.manual_seed(0)
    net = Custom(conv_snn())
    lif, simple, plif, readout, extra = net.body[1], net.body[2][2], net.body[3][0], net.body[5], net.extra
    surrogate_fn, w = lif.surrogate_function, plif.w
    with torch.no_grad():
        w.fill_(0.25)
    calls = []
    lif.register_forward_hook(lambda *args: calls.append(1))
    plif.store_v_seq = True
    state = copy.deepcopy(net.state_dict())
    assert fn.fractionalize(net, alpha=0.6, learn_alpha=True) is net
    assert [type(m).__name__ for m in (lif, simple, plif, readout, extra)] == [
        "FractionalLIFNode",
        "FractionalSimpleLIFNode",
        "FractionalParametricLIFNode",
        "FractionalNonSpikingLIFNode",
        "FractionalIFNode",
    ]
    assert net.body[1] is lif and isinstance(lif, neuron.LIFNode)
    assert lif.surrogate_function is surrogate_fn and plif.w is w and w.item() == 0.25
    assert lif.step_mode == "m" and plif.v_reset is None and plif.store_v_seq
    assert lif.step_mode == "m" and simple.step_mode == "s"
    assert sum(name.endswith("alpha_param") for name, _ in net.named_parameters()) == 5
    out = net(images())
    assert out.shape == (2, 3) and calls == [1] and plif.v_seq.shape == (6, 2, 6)
    assert simple.memory.steps == 6 and readout.memory.steps == 6
    result = net.load_state_dict(state, strict=True)  # the native checkpoint still loads
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_the_model_itself_may_be_a_node():
    node = neuron.LIFNode(step_mode="m")
    assert fn.fractionalize(node, alpha=0.5) is node and type(node).__name__ == "FractionalLIFNode"
    fn.fractionalize(node, alpha=0.8)  # again: reconfigured, not wrapped twice
    assert type(node).__mro__[1].__name__ == "FractionalTransitionNode"
    assert node.memory.alpha.item() == pytest.approx(0.8)


def test_fractionalize_refuses_a_model_with_an_unsupported_node_and_changes_nothing():
    net = nn.Sequential(neuron.LIFNode(step_mode="m"), nn.Sequential(neuron.PSN(T=4)))
    with pytest.raises(TypeError, match=r"(?s)nodes fractional \(the model was not changed\):\n  1\.0: .*PSN"):
        fn.fractionalize(net, alpha=0.5)
    assert type(net[0]) is neuron.LIFNode and not hasattr(net[0], "memory")


def test_the_example_network_is_made_fractional_in_one_call():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "examples" / "spikingjelly_swap.py"
    spec = importlib.util.spec_from_file_location("spikingjelly_swap", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    net = fn.fractionalize(example.DigitsCSNN(), alpha=0.6)
    lifs = [m for m in net.modules() if isinstance(m, neuron.LIFNode)]
    assert len(lifs) == 3 and all(type(m).__name__ == "FractionalLIFNode" for m in lifs)
    rate = net((torch.rand(4, 2, 1, 8, 8) < 0.5).float())
    assert rate.shape == (2, 10) and lifs[0].memory.steps == 4
