"""fracneuron_snntorch.classes: fractionalize swaps neurons in place keeping parameters and hooks, each
swapped neuron gets its own engine, and a model with an unsupported neuron is refused unchanged."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import fracneuron

snn = pytest.importorskip("snntorch")


BETA, THRESHOLD, SYN_DECAY, V_REC = 0.875, 1.0, 0.75, 0.5  # exact in float32


def test_fractionalize_swaps_in_place_keeping_parameters_and_hooks():
    lif = snn.Leaky(beta=BETA, learn_beta=True, reset_mechanism="zero")
    calls = []
    lif.register_forward_hook(lambda *args: calls.append(1))
    beta = lif.beta

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = nn.Sequential(nn.Linear(3, 3), lif)

    net = Net()
    assert fracneuron.fractionalize(net, alpha=0.5, memory="window", memory_options={"window": 4}) is net
    assert type(lif).__name__ == "FractionalLeaky" and lif.beta is beta and lif in snn.SpikingNeuron.instances
    assert lif.state_function.__func__ is type(lif)._base_zero
    assert lif.memory.engine.describe() == "window(L=4)"
    lif(torch.rand(2, 3))
    assert calls == [1] and lif.memory.steps == 1
    # again: reconfigured, not wrapped twice
    fracneuron.fractionalize(net, alpha=0.8)
    assert type(lif) is fracneuron.fractional(snn.Leaky) and float(lif.memory.alpha) == pytest.approx(0.8)


def test_each_swapped_neuron_gets_its_own_engine():
    from fracneuron.memory.exact import ExactMemory

    net = nn.Sequential(snn.Leaky(beta=BETA), snn.Leaky(beta=BETA))
    fracneuron.fractionalize(net, alpha=0.5, memory=ExactMemory())
    assert net[0].memory.engine is not net[1].memory.engine


def test_fractionalize_refuses_before_changing_anything():
    net = nn.Sequential(snn.Leaky(beta=BETA), snn.Alpha(alpha=0.9, beta=0.8))
    with pytest.raises(TypeError, match="Alpha cannot be made fractional"):
        fracneuron.fractionalize(net, alpha=0.5)
    assert type(net[0]) is snn.Leaky
