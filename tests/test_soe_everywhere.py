"""``memory="soe"`` wherever a memory engine is accepted (issue 6): both adapters, the native
neurons inside SNNWrapper, fdeint's ``gl``, and the training job's models. Each place is run
twice, with ``soe`` and with ``exact``, on the same input: the spikes must be the same and the
potentials agree to the engine's promise (10·tol·max|v|, tol = 1e-6), and the soe engine must
really be the one in use."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.memory.soe import SoeMemory
from fracneuron.train import TrainConfig
from fracneuron.train.models import build

TOL = 1e-6


def soe_engines(model: nn.Module) -> list[SoeMemory]:
    return [m.engine for m in model.modules() if isinstance(m, fn.FractionalMemory) and isinstance(m.engine, SoeMemory)]


def assert_close_to_exact(soe: torch.Tensor, exact: torch.Tensor) -> None:
    assert torch.max(torch.abs(soe - exact)) <= 10 * TOL * exact.abs().max().clamp_min(1.0)


def test_spikingjelly_nodes():
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    x = 3.0 * torch.rand(300, 4, 6, dtype=torch.float64)
    runs = {}
    for memory in ("soe", "exact"):
        node = fn.fractionalize(
            nn.Sequential(neuron.LIFNode(tau=2.0, step_mode="m", store_v_seq=True)), alpha=0.6, memory=memory
        ).double()
        runs[memory] = (node(x), node[0].v_seq)
        if memory == "soe":
            assert len(soe_engines(node)) == 1
    assert torch.equal(runs["soe"][0], runs["exact"][0])
    assert runs["exact"][0].sum() > 0  # the comparison includes resets
    assert_close_to_exact(runs["soe"][1], runs["exact"][1])


def test_snntorch_leaky_and_synaptic():
    snn = pytest.importorskip("snntorch")
    x = 2.0 * torch.rand(300, 4, 6, dtype=torch.float64)
    for cls, order in ((snn.Leaky, "alpha"), (snn.Synaptic, "frac_alpha")):
        mems, spikes = {}, {}
        for memory in ("soe", "exact"):
            extra = {"alpha": 0.8} if cls is snn.Synaptic else {}
            neuron = fn.fractional(cls)(beta=0.9, memory=memory, **{order: 0.6}, **extra).double()
            out_mem, out_spk = [], []
            state = None
            for step in x:
                if cls is snn.Leaky:
                    spk, state = neuron(step, state if state is not None else neuron.init_leaky())
                    out_mem.append(state)
                else:
                    if state is None:
                        state = neuron.init_synaptic()
                    spk, syn, mem = neuron(step, *state)
                    state = (syn, mem)
                    out_mem.append(mem)
                out_spk.append(spk)
            mems[memory], spikes[memory] = torch.stack(out_mem), torch.stack(out_spk)
            if memory == "soe":
                assert len(soe_engines(neuron)) == 1, cls.__name__
        assert torch.equal(spikes["soe"], spikes["exact"]), cls.__name__
        assert spikes["exact"].sum() > 0, cls.__name__
        assert_close_to_exact(mems["soe"], mems["exact"])


def test_snn_wrapper_with_native_neurons():
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(6, 16), fn.LIFNeuron(tau=2.0), nn.Linear(16, 4), fn.LIFNeuron(tau=2.0))
    with torch.no_grad():
        base[2].weight.mul_(6.0)  # so that the read-out layer fires too
    net = fn.SNNWrapper(base, integrator="fdeint", alpha=0.6).double()
    x = 4.0 * torch.rand(200, 3, 6, dtype=torch.float64)
    t = torch.arange(200, dtype=torch.float64)  # unit steps, so τ = 2 is in steps
    exact = net(x, t, method="gl", options={"memory": -1})
    soe = net(x, t, method="gl", options={"memory": "soe"})
    assert exact.sum() > 0
    assert torch.equal(soe, exact)


def test_fdeint_gl():
    t = torch.linspace(0, 5, 501, dtype=torch.float64)
    y0 = torch.ones(2, dtype=torch.float64)
    exact = fn.fdeint(lambda t, y: -y, y0, t, 0.6, method="gl")
    soe = fn.fdeint(lambda t, y: -y, y0, t, 0.6, method="gl", options={"memory": "soe"})
    assert_close_to_exact(soe, exact)
    # and both are the Mittag-Leffler relaxation to the scheme's O(h)
    assert torch.max(torch.abs(soe[:, 0] - fn.mittag_leffler(0.6, -t**0.6))) < 1e-2


@pytest.mark.parametrize("framework", ["spikingjelly", "snntorch", "native"])
def test_training_models(framework):
    x = torch.randn(40, 4, 3)
    outputs = {}
    for memory in ("soe", "exact"):
        config = TrainConfig(framework=framework, alpha="0.6", memory=memory, hidden=8, dataset="digits").validate()
        model = build(config, inputs=3, classes=5)
        if memory == "soe":
            assert len(soe_engines(model)) == 2
        outputs[memory] = model(x)
    assert_close_to_exact(outputs["soe"], outputs["exact"])
