import pytest
import torch
from torch import nn


@pytest.fixture
def conv_snn():
    """Build a tutorial-style model: nested Sequential, SeqToANNContainer, MultiStepContainer
    (``conv_snn()``, a fresh model each call)."""
    from spikingjelly.activation_based import layer, neuron, surrogate

    def build():
        torch.manual_seed(0)
        net = nn.Sequential(
            layer.SeqToANNContainer(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4)),
            neuron.LIFNode(tau=2.0, surrogate_function=surrogate.ATan(), step_mode="m"),
            layer.MultiStepContainer(nn.Flatten(), nn.Linear(4 * 4 * 4, 6), neuron.SimpleLIFNode(2.0, True)),  # 's' inside
            nn.Sequential(neuron.ParametricLIFNode(init_tau=2.0, v_threshold=0.5, v_reset=None, step_mode="m")),
            layer.Linear(6, 3, step_mode="m"),
            neuron.NonSpikingLIFNode(tau=2.0, decode="mean-mem"),
        )
        for weighted in (net[0][0], net[2][1], net[4]):  # strong enough that every node fires
            nn.init.normal_(weighted.weight, std=1.0)
        return net

    return build


@pytest.fixture
def images():
    """Random images [steps, batch, 1, 4, 4] for conv_snn (``images(steps=6, batch=2, seed=1)``)."""

    def make(steps=6, batch=2, seed=1):
        g = torch.Generator().manual_seed(seed)
        return torch.rand(steps, batch, 1, 4, 4, generator=g) * 3

    return make
