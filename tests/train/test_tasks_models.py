"""The mlp, recurrent and conv models in SpikingJelly, snnTorch and native fracneuron (issue 14)."""

from __future__ import annotations

import pytest
import torch

from fracneuron.train import TrainConfig
from fracneuron.train.layers import MembraneReadout, TemporalConv
from fracneuron.train.models import build, fractional_orders, parameter_count

FRAMEWORKS = ("spikingjelly", "snntorch", "native")
MODELS = ("mlp", "recurrent", "conv")
#: dataset -> (inputs, classes) of a batch as the data module gives it
SHAPES = {"mnist1d": (1, 10), "sdigits": (1, 10), "psdigits": (1, 10), "recall": (5, 4), "digits": (64, 10)}


def _config(**options) -> TrainConfig:
    return TrainConfig(**{"hidden": 6, **options}).validate()


@pytest.mark.parametrize("framework", FRAMEWORKS)
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dataset", SHAPES)
def test_every_model_maps_a_sequence_to_logits(single_thread, framework, model, dataset):
    inputs, classes = SHAPES[dataset]
    config = _config(framework=framework, model=model, dataset=dataset, alpha="learn", delay=3)
    net = build(config, inputs, classes)
    for batch in (3, 2):  # a new batch size: every state starts afresh
        out = net(torch.rand(9, batch, inputs))
        assert out.shape == (batch, classes) and torch.isfinite(out).all()
    out.sum().backward()
    orders = fractional_orders(net)
    assert len(orders) == config.layers  # the recurrent layers' neurons are fractional too
    alphas = [p for name, p in net.named_parameters() if "alpha" in name]
    assert len(alphas) == config.layers and all(p.grad is not None and torch.isfinite(p.grad).all() for p in alphas)
    assert any(p.grad.abs().sum() > 0 for p in alphas)  # α is trained with the weights


@pytest.mark.parametrize("model", ["mlp", "conv"])
@pytest.mark.parametrize("alpha", ["1", "0.6"])
def test_feed_forward_models_are_the_same_function_in_every_framework(single_thread, model, alpha):
    x = torch.randn(10, 3, 2)
    outputs, counts = {}, set()
    for framework in FRAMEWORKS:
        net = build(_config(framework=framework, model=model, alpha=alpha, readout="membrane"), 2, 4)
        outputs[framework] = net(x).detach()
        counts.add(parameter_count(net))
    assert len(counts) == 1
    for framework in ("snntorch", "native"):
        torch.testing.assert_close(outputs[framework], outputs["spikingjelly"], atol=1e-6, rtol=0)


def test_snntorch_rleaky_and_the_native_recurrent_layer_are_the_same_function(single_thread):
    x = torch.randn(10, 3, 2)
    nets = {fw: build(_config(framework=fw, model="recurrent", alpha="0.6"), 2, 4) for fw in ("snntorch", "native")}
    # the same weights in both: snnTorch's recurrent Linear is the native layer's `recurrent`
    native_params = dict(nets["native"].named_parameters())
    mapping = {"fc.0": "net.0", "lif.0.recurrent": "net.1.recurrent", "fc.1": "net.2",
               "lif.1.recurrent": "net.3.recurrent", "fc_out": "net.4"}
    with torch.no_grad():
        for name, p in nets["snntorch"].named_parameters():
            prefix, _, leaf = name.rpartition(".")
            p.copy_(native_params[f"{mapping[prefix]}.{leaf}"])
    torch.testing.assert_close(nets["snntorch"](x), nets["native"](x), atol=1e-6, rtol=0)


def test_recurrent_layers_feed_their_spikes_back(single_thread):
    config = _config(framework="native", model="recurrent", alpha="1")
    net = build(config, 2, 4)
    x = torch.rand(8, 2, 2) * 3
    before = net(x).detach()
    with torch.no_grad():
        for module in net.modules():
            if hasattr(module, "recurrent"):
                module.recurrent.weight.zero_()
                module.recurrent.bias.zero_()
    assert not torch.equal(net(x), before)


def test_temporal_conv_is_causal():
    conv = TemporalConv(2, 3, kernel=4)
    x = torch.randn(12, 1, 2)
    changed = x.clone()
    changed[7] += 1.0
    y, y_changed = conv(x), conv(changed)
    assert torch.equal(y[:7], y_changed[:7]) and not torch.equal(y[7:11], y_changed[7:11])
    assert torch.equal(y[11], y_changed[11])  # step 7 is out of the kernel's reach 4 steps later


def test_membrane_readout_is_the_last_potential_of_a_leaky_integrator():
    y = torch.randn(5, 2, 3)
    beta = 1 - 1 / 2.0
    expected = sum(beta ** (4 - n) * y[n] for n in range(5))
    torch.testing.assert_close(MembraneReadout(2.0)(y), expected)
