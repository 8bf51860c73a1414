"""Caputo's anchor (issue 11, item 3): the history is measured from the state a sequence starts from.

The Caputo derivative acts on v − v(0), so a membrane that starts away from rest with no drive and
no leak stays where it started, and every neuron — native, SpikingJelly, snnTorch — follows the
same trajectory as ``fdeint`` (whose ``y0`` is the anchor) on the same equation.
"""

from __future__ import annotations

import pytest
import torch

import fracneuron as fn

F64 = torch.float64
T, B, N = 30, 3, 4


def drive(seed=0, scale=0.6):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(T, B, N, generator=g)).to(F64)


def start(seed=1):
    g = torch.Generator().manual_seed(seed)
    return (0.8 * torch.rand(B, N, generator=g) - 0.4).to(F64)


def fdeint_path(f, x, y0, alpha, h=1.0):
    """v_1 … v_T of D^α v = f(v, x_n) by fdeint's GL (y0 = v_0 is the anchor); step n uses x_n."""
    t = h * torch.arange(x.shape[0] + 1, dtype=F64)
    return fn.fdeint(lambda time, y: f(y, x[int(round(float(time) / h))]), y0, t, alpha, method="gl")[1:]


def stepped_v(node, x):
    out = []
    for xt in x:
        node(xt)
        out.append(node.v)
    return torch.stack(out)


# ----------------------------------------------------------------------------------- native
@pytest.mark.parametrize("alpha", [0.4, 0.8])
@pytest.mark.parametrize("memory, mode, atol", [("exact", "s", 1e-13), ("exact", "m", 1e-13), ("soe", "m", 1e-6)])
def test_native_lif_from_a_set_potential_follows_fdeint(alpha, memory, mode, atol):
    x, v0 = drive(), start()
    lif = fn.LIFNeuron(tau=2.0, threshold=1e9, alpha=alpha, memory=memory, step_mode=mode).double()
    lif.v = v0.clone()
    if mode == "m":
        lif(x)
        got = lif.v
        want = fdeint_path(lambda v, xn: (xn - v) / 2.0, x, v0, alpha)[-1]
    else:
        got = stepped_v(lif, x)
        want = fdeint_path(lambda v, xn: (xn - v) / 2.0, x, v0, alpha)
    torch.testing.assert_close(got, want, rtol=0, atol=atol)


def test_undriven_leak_free_membrane_stays_where_it_started():
    v0 = start()
    for alpha in (0.3, 0.7, [0.4, 0.9]):
        neuron = fn.IFNeuron(tau=1.0, threshold=1e9, alpha=alpha).double()
        neuron.v = v0.clone()
        for _ in range(25):
            neuron(torch.zeros(B, N, dtype=F64))
        assert torch.equal(neuron.v, v0)


def test_fused_gradient_reaches_the_starting_potential_through_the_anchor():
    """The fused soe path and plain stepping agree on ∂L/∂v_0, the anchor's share included."""
    x = drive(scale=1.5)
    grads = []
    for fused in (True, False):
        lif = fn.LIFNeuron(tau=2.0, alpha=0.6, memory="soe", step_mode="m", fused_multi_step=fused).double()
        v0 = start().requires_grad_()
        lif.v = v0
        spikes = lif(x)
        assert 0 < spikes.sum() < spikes.numel()
        (g,) = torch.autograd.grad((spikes * torch.linspace(0, 1, T, dtype=F64)[:, None, None]).sum() + lif.v.sum(), v0)
        grads.append(g)
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ SpikingJelly
@pytest.mark.parametrize("mode", ["s", "m"])
def test_spikingjelly_node_from_a_set_potential_follows_fdeint(mode):
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    x, v0 = drive(), start()
    node = fn.fractional(neuron.LIFNode)(tau=2.0, v_threshold=1e9, alpha=0.6, step_mode=mode).double()
    node.v = v0.clone()
    if mode == "m":
        node.store_v_seq = True
        node(x)
        got = node.v_seq
    else:
        got = stepped_v(node, x)
    want = fdeint_path(lambda v, xn: (xn - v) / 2.0, x, v0, 0.6)  # LIFNode: H = v + (x − (v − 0))/τ
    torch.testing.assert_close(got, want, rtol=0, atol=1e-13)


def test_spikingjelly_if_node_undriven_stays_put():
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    v0 = start()
    node = fn.fractional(neuron.IFNode)(v_threshold=1e9, alpha=0.5, step_mode="m").double()
    node.v = v0.clone()
    node(torch.zeros(T, B, N, dtype=F64))
    assert torch.equal(node.v, v0)


# ---------------------------------------------------------------------------------- snnTorch
def test_snntorch_leaky_without_leak_keeps_a_nonzero_start():
    """The issue's example: Leaky(beta=1), mem = 0.5, zero input: 0.5 forever (it was 0.35, …)."""
    snn = pytest.importorskip("snntorch")
    lif = fn.fractional(snn.Leaky)(beta=1.0, threshold=10.0, alpha=0.6)
    mem = torch.full((2, 3), 0.5)
    for _ in range(10):
        _, mem = lif(torch.zeros(2, 3), mem)
        assert torch.equal(mem, torch.full((2, 3), 0.5))


@pytest.mark.parametrize("alpha", [0.3, 0.75])
def test_snntorch_leaky_from_a_nonzero_mem_follows_fdeint(alpha):
    snn = pytest.importorskip("snntorch")
    beta = 0.75  # exact in float32, so the float64 run uses the same β
    x, v0 = drive(), start()
    lif = fn.fractional(snn.Leaky)(beta=beta, threshold=1e9, alpha=alpha).double()
    mem, path = v0.clone(), []
    for xt in x:
        _, mem = lif(xt, mem)
        path.append(mem)
    want = fdeint_path(lambda v, xn: (beta - 1.0) * v + xn, x, v0, alpha)  # Euler increment β·mem + x − mem
    torch.testing.assert_close(torch.stack(path), want, rtol=0, atol=1e-13)
