"""fracneuron.neuron.models: the native neuron models. α = 1 equals SpikingJelly's nodes bit for bit;
α < 1 equals the direct GL formula (tests/reference.py); learnable τ and α, spikeDE's derivative
form. What every neuron shares (state, refractoriness, traces, errors) is in test_base.py."""

import pytest
import torch

from fracneuron.neuron import ALIFNeuron, IFNeuron, LIFNeuron

import reference

sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")

from spikingjelly.activation_based import surrogate as sj_surrogate  # noqa: E402


def drive(T=40, B=4, N=6, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (0.6 + 0.8 * torch.randn(T, B, N, generator=g)).to(dtype)


def run_sj(node, x, mode):
    node.step_mode = mode
    if mode == "m":
        spikes = node(x)
        return spikes, node.v
    spikes = torch.stack([node(xt) for xt in x])
    return spikes, node.v


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("v_reset", [None, 0.0, -0.3])
def test_lif_at_alpha_one_is_spikingjelly_lifnode_bit_for_bit(dtype, mode, v_reset):
    x = drive(dtype=dtype)
    tau = 2.0
    ours = LIFNeuron(
        tau=tau,
        threshold=1.0,
        surrogate_opt="sigmoid",
        surrogate_grad_scale=4.0,
        spk_reset="soft" if v_reset is None else "hard",
        v_reset=0.0 if v_reset is None else v_reset,
        step_mode=mode,
    )
    native = sj_neuron.LIFNode(tau=tau, decay_input=True, v_reset=v_reset, surrogate_function=sj_surrogate.Sigmoid(alpha=4.0))
    s_ref, v_ref = run_sj(native, x, mode)
    s = ours(x) if mode == "m" else torch.stack([ours(xt) for xt in x])
    assert s_ref.sum() > 0
    assert torch.equal(s, s_ref)
    assert torch.equal(ours.v, v_ref)


def test_lif_gradients_match_spikingjelly_at_alpha_one():
    x = drive(dtype=torch.float64)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = LIFNeuron(tau=2.0, surrogate_opt="sigmoid", surrogate_grad_scale=4.0, step_mode="m")
    native = sj_neuron.LIFNode(tau=2.0, v_reset=None, surrogate_function=sj_surrogate.Sigmoid(alpha=4.0), step_mode="m")
    (g1,) = torch.autograd.grad((ours(x1) * torch.arange(6.0, dtype=torch.float64)).sum(), x1)
    (g2,) = torch.autograd.grad((native(x2) * torch.arange(6.0, dtype=torch.float64)).sum(), x2)
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["s", "m"])
def test_if_with_unit_tau_is_spikingjelly_ifnode(mode):
    x = drive()
    ours = IFNeuron(tau=1.0, spk_reset="hard", v_reset=0.0, surrogate_opt="sigmoid", surrogate_grad_scale=4.0, step_mode=mode)
    native = sj_neuron.IFNode(v_reset=0.0)
    s_ref, v_ref = run_sj(native, x, mode)
    s = ours(x) if mode == "m" else torch.stack([ours(xt) for xt in x])
    assert torch.equal(s, s_ref) and torch.equal(ours.v, v_ref)


def lif_reference(x, alpha, tau, threshold, hard, v_reset):
    """charge → fire → reset with the explicit GL charge written out (DESIGN.md, tests/reference.py)."""
    v0 = v_reset if hard else 0.0
    fire = reference.threshold_fire(threshold, v_reset if hard else None)
    steps = reference.gl_run(x, lambda xn, v: (xn - (v - v0)) / tau, alpha, v0=v0, fire=fire)
    return torch.stack([spike for spike, _ in steps]), steps[-1][1]


@pytest.mark.parametrize("alpha", [0.3, 0.7])
@pytest.mark.parametrize("hard", [False, True])
def test_fractional_lif_matches_direct_reference(alpha, hard):
    x = drive(T=50, dtype=torch.float64, seed=3)
    ours = LIFNeuron(tau=1.5, alpha=alpha, spk_reset="hard" if hard else "soft", v_reset=-0.2, step_mode="m")
    s = ours(x)
    s_ref, v_ref = lif_reference(x, alpha, 1.5, 1.0, hard, -0.2)
    assert torch.equal(s, s_ref)
    torch.testing.assert_close(ours.v, v_ref, rtol=0, atol=1e-12)


def test_fractional_memory_changes_the_dynamics():
    # same input, α < 1 remembers: the response to a pulse decays as a power law, not exponentially
    x = torch.zeros(60, 1, 1, dtype=torch.float64)
    x[0] = 1.0
    responses = {}
    for alpha in (1.0, 0.5):
        lif = LIFNeuron(tau=2.0, threshold=10.0, alpha=alpha, step_mode="s")
        responses[alpha] = torch.stack([lif(xt) * 0 + lif.v for xt in x]).flatten()
    assert responses[0.5][-1] > 100 * responses[1.0][-1]


def test_alif_threshold_adapts_after_spikes():
    alif = ALIFNeuron(tau=2.0, threshold=1.0, tau_adapt=10.0, adapt_strength=0.5, step_mode="m")
    x = torch.full((30, 1, 1), 1.5)
    spikes = alif(x).flatten()
    plain = LIFNeuron(tau=2.0, threshold=1.0, step_mode="m")(x).flatten()
    assert spikes.sum() < plain.sum()
    assert alif.a.item() > 0
    assert float(alif.firing_threshold()) > 1.0
    alif.reset()
    assert alif.a is None and alif.firing_threshold() == 1.0


def test_spikede_derivative_form():
    lif = LIFNeuron(tau=0.5, threshold=1.0)
    v = torch.tensor([0.0, 0.9])
    x = torch.tensor([0.2, 0.2])
    dv_dt, spike = lif(v, x)
    h = v + (x - v) / 0.5
    torch.testing.assert_close(spike, (h >= 1.0).float())
    torch.testing.assert_close(v + dv_dt, h - spike * 1.0)
    assert lif.v is None  # the stateless form does not touch the layer's state


def test_learnable_tau_stays_positive_and_gets_a_gradient():
    lif = LIFNeuron(tau=2.0, tau_learnable=True, step_mode="m", surrogate_opt="sigmoid")
    assert lif.get_tau().item() == pytest.approx(2.0)
    lif(drive()).sum().backward()
    assert lif.tau_param.grad is not None and lif.tau_param.grad != 0
    with torch.no_grad():
        lif.tau_param.fill_(-50.0)
    assert lif.get_tau().item() > 0


def test_learnable_alpha_gets_a_gradient_trains_and_stays_in_range():
    torch.manual_seed(0)
    lif = LIFNeuron(tau=2.0, alpha=0.9, learn_alpha=True, step_mode="m", surrogate_opt="sigmoid", surrogate_grad_scale=4.0)
    opt = torch.optim.Adam(lif.parameters(), lr=0.05)
    x = drive(T=30)
    target = 0.05  # fewer spikes than at α = 0.9: training must move α
    start = lif.alpha.item()
    for _ in range(15):
        lif.reset()
        opt.zero_grad()
        loss = (lif(x).mean() - target) ** 2
        loss.backward()
        assert lif.memory.order.alpha_param.grad is not None
        opt.step()
        assert 0 < lif.alpha.item() <= 1
    assert lif.alpha.item() != start


def test_per_neuron_alpha_materializes_on_first_step():
    lif = LIFNeuron(alpha=0.7, learn_alpha=True, per_neuron_alpha=True, step_mode="m")
    lif(drive(T=5, N=7))
    assert lif.alpha.shape == (7,)


def test_fractional_potential_out_writes_the_same_values():
    """``out=`` (the fused sequence's buffers) gives H bit for bit as the returned tensor, in
    each of the formula's three branches."""
    from fracneuron.functional.step import fractional_potential

    g = torch.Generator().manual_seed(3)
    v, c, charged = (torch.randn(4, 6, generator=g) for _ in range(3))
    for correction, scale in ((None, None), (c, None), (c, 0.7), (c, torch.rand(6, generator=g))):
        want = fractional_potential(v, correction, scale, charged=charged)
        out = torch.full((2, 4, 6), float("nan"))
        got = fractional_potential(v, correction, scale, charged=charged, out=out[1])
        assert got.data_ptr() == out[1].data_ptr() and torch.equal(out[1], want)
