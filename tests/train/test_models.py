"""fracneuron.train.models: one network written in every framework computes the same function, at α = 1 and below."""

from __future__ import annotations

import pytest
import torch

from fracneuron.train import TrainConfig
from fracneuron.train.models import build, fractional_orders


def test_alpha_one_is_the_same_network_in_every_framework():
    x = torch.randn(12, 4, 3)
    outputs, grads = {}, {}
    for framework in ("spikingjelly", "snntorch", "native"):
        config = TrainConfig(framework=framework, alpha="1", hidden=8, dataset="digits").validate()
        model = build(config, inputs=3, classes=5)
        out = model(x)
        out.square().sum().backward()
        outputs[framework] = out.detach()
        grads[framework] = [p.grad for p in model.parameters()]
        assert sum(p.numel() for p in model.parameters()) == 3 * 8 + 8 + 8 * 8 + 8 + 8 * 5 + 5
    for framework in ("snntorch", "native"):
        assert torch.equal(outputs[framework], outputs["spikingjelly"]), framework
        for g, ref in zip(grads[framework], grads["spikingjelly"]):
            assert torch.allclose(g, ref, atol=1e-6), framework


@pytest.mark.parametrize("alpha", ["0.6", "learn=0.7"])
def test_fractional_network_is_the_same_in_every_framework(alpha):
    # one fractionalize() call on the SpikingJelly / snnTorch model = the native fractional model
    # (needs the SpikingJelly and snnTorch adapters, issues 3 and 4)
    x = torch.randn(12, 4, 3)
    outputs, grads = {}, {}
    for framework in ("spikingjelly", "snntorch", "native"):
        config = TrainConfig(framework=framework, alpha=alpha, hidden=8, dataset="digits").validate()
        model = build(config, inputs=3, classes=5)
        out = model(x)
        out.square().sum().backward()
        outputs[framework] = out.detach()
        grads[framework] = sorted(
            (p.grad.double().norm().item() for p in model.parameters()), reverse=True
        )
        assert len(fractional_orders(model)) == 2, framework
    for framework in ("spikingjelly", "snntorch"):
        assert torch.allclose(outputs[framework], outputs["native"], atol=1e-6), framework
        assert grads[framework] == pytest.approx(grads["native"], rel=1e-4), framework


def test_native_model_takes_the_fractional_order_and_keeps_history_out_of_buffers():
    config = TrainConfig(framework="native", alpha="learn=0.7", per_neuron=True, hidden=8, dataset="digits").validate()
    model = build(config, inputs=3, classes=5)
    model(torch.randn(6, 2, 3))
    orders = fractional_orders(model)
    assert len(orders) == 2 and all(o.alphas().shape == (1, 8) for o in orders)
    assert all(torch.allclose(o.alphas(), torch.full((1, 8), 0.7, dtype=torch.float64)) for o in orders)
    # DDP broadcasts buffers: the engine's history must not be one (only the constant α may be)
    assert [name for name, _ in model.named_buffers()] == []
    fixed = build(TrainConfig(framework="native", alpha="0.5", hidden=8).validate(), inputs=3, classes=5)
    fixed(torch.randn(6, 2, 3))
    assert all(name.endswith("alpha_param") for name, _ in fixed.named_buffers())
