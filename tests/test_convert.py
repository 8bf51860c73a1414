"""fracneuron.convert: fractional() and fractionalize() dispatch, native neurons, errors."""

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.neuron import LIFNeuron


class NativeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.lif = LIFNeuron(tau=2.0, step_mode="m")
        self.inner = nn.Sequential(nn.Linear(3, 2), LIFNeuron(tau=2.0, step_mode="m"))

    def forward(self, x):
        return self.inner(self.lif(self.fc(x)))


def test_fractionalize_reconfigures_native_neurons_in_place():
    net = NativeNet()
    out = fn.fractionalize(net, alpha=0.6, learn_alpha=True)
    assert out is net
    assert net.lif.alpha.item() == pytest.approx(0.6) and net.inner[1].alpha.item() == pytest.approx(0.6)
    assert any("alpha_param" in name for name, _ in net.named_parameters())
    net(torch.randn(5, 2, 4)).sum().backward()


def test_fractionalize_keeps_a_native_state_dict_loadable():
    net = NativeNet()
    saved = net.state_dict()
    fn.fractionalize(net, alpha=0.7, learn_alpha=True)
    result = net.load_state_dict(saved, strict=True)
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_fractionalize_without_neurons_says_so():
    with pytest.raises(ValueError, match="fractionalize found no neuron it supports in Sequential"):
        fn.fractionalize(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), alpha=0.5)


def test_fractionalize_validates_before_touching_the_model():
    net = NativeNet()
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\]"):
        fn.fractionalize(net, alpha=0.0)
    with pytest.raises(ValueError, match="unknown memory 'fast'"):
        fn.fractionalize(net, alpha=0.5, memory="fast")
    assert net.lif.memory.is_markovian  # untouched
    with pytest.raises(TypeError, match="takes an nn.Module"):
        fn.fractionalize("model", alpha=0.5)


def test_fractional_returns_native_classes_unchanged_and_refuses_others():
    assert fn.fractional(LIFNeuron) is LIFNeuron
    with pytest.raises(TypeError, match="torch.nn.modules.activation.ReLU is not a neuron class"):
        fn.fractional(nn.ReLU)
    with pytest.raises(TypeError, match="takes a neuron class"):
        fn.fractional(LIFNeuron())
