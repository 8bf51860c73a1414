"""fracneuron_spikingjelly.factory: the fractional subclass of a node class — bad arguments fail
clearly, an existing memory attribute is not overwritten, user subclasses are supported."""

import pytest
import torch
from torch import nn

import fracneuron as fn

pytest.importorskip("spikingjelly")

from spikingjelly.activation_based import layer, neuron  # noqa: E402


def test_bad_arguments_fail_with_clear_errors(conv_snn):
    FracLIF = fn.fractional(neuron.LIFNode)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\], got 1.5"):
        FracLIF(alpha=1.5)
    with pytest.raises(ValueError, match=r"alpha\[1\] must be in \(0, 1\], got 0.0"):
        FracLIF(alpha=[0.5, 0.0])
    with pytest.raises(ValueError, match="unknown memory 'fast'"):
        FracLIF(alpha=0.5, memory="fast")
    net = conv_snn()
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        fn.fractionalize(net, alpha=-0.2)
    with pytest.raises(ValueError, match="unknown memory 'fast'"):
        fn.fractionalize(net, alpha=0.5, memory="fast")
    assert type(net[1]) is neuron.LIFNode
    with pytest.raises(ValueError, match="fractionalize found no neuron it supports in Sequential"):
        fn.fractionalize(nn.Sequential(layer.Linear(3, 2), nn.ReLU()), alpha=0.5)


def test_a_node_that_already_has_a_memory_attribute_is_not_overwritten():
    class Remembering(neuron.LIFNode):
        memory = "mine"

    with pytest.raises(TypeError, match="already has an attribute 'memory'"):
        fn.fractionalize(Remembering(), alpha=0.5)


def test_user_subclass_keeping_the_lif_transition_is_supported():
    class Scaled(neuron.LIFNode):
        def __init__(self, gain=2.0, **kwargs):
            super().__init__(**kwargs)
            self.gain = gain

    x = 1.0 + torch.randn(24, 3, 5, generator=torch.Generator().manual_seed(0))  # [T, B, N]
    native = Scaled(step_mode="m")
    frac = fn.fractional(Scaled)(gain=2.0, step_mode="m", alpha=1.0)
    assert isinstance(frac, Scaled) and frac.gain == 2.0
    assert torch.equal(frac(x), native(x))
