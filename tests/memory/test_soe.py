"""fracneuron.memory.soe: the ``soe`` memory engine (issue 6). Its kernel fit is tested in
tests/test_soe_fit.py, its parallel-in-time path in tests/functional/test_reset_free.py.

Against a direct convolution with the fitted kernel (the
blocked recurrence must be exact to rounding), against the ``exact`` engine (within the
tolerance the fit promises), through gradcheck (inputs and α, per-neuron and multi-term, across
detach), and on a spiking LIF layer.
"""

from __future__ import annotations

import copy
import math
import pickle
import warnings

import pytest
import torch
from torch.func import functional_call

import fracneuron
from fracneuron.memory import FractionalMemory, StateShapeError
from fracneuron.memory.soe import SoeMemory
from fracneuron.neuron import LIFNeuron
from fracneuron.soe_fit import soe_amplitudes
from fracneuron.weights import correction_weights

import reference


SMALL = dict(block=4, exact_lags=3, horizon=200, tol=1e-4)  # many blocks in few steps, few modes


def _run(mem: FractionalMemory, us: torch.Tensor) -> torch.Tensor:
    """The engine's own convolution of the given u's (the anchor is FractionalMemory's business)."""
    mem.reset()
    if mem.order.per_neuron:
        mem.order.materialize(us.shape[2:])
    return torch.stack([mem.engine.correction(u, mem.order) for u in us])


def _fitted_kernel(mem: FractionalMemory, lags: int) -> torch.Tensor:
    """ω̂_1 … ω̂_lags of the engine's fit, [lags, *A] (float64)."""
    engine, order = mem.engine, mem.order
    k0 = engine.exact_lags
    head = correction_weights(order.gl(k0, torch.float64, torch.device("cpu"))[0])[1:]
    alphas = order.alphas().double()
    coefficients = order.coefficients()
    b, _ = fracneuron.weights.combine_terms(alphas, coefficients, order.step_size, lambda a: soe_amplitudes(a, engine.fit))
    j = torch.arange(lags - k0, dtype=torch.float64)
    tail = torch.einsum("jq,q...->j...", torch.exp(-j[:, None] * engine.fit.rates[None, :]), b)
    return torch.cat([head, tail])


def _direct(kernel: torch.Tensor, us: torch.Tensor) -> torch.Tensor:
    """c_m = −Σ_{k=1}^{m} ω̂_k u_{m-k} by brute force; kernel [T] or [T, F], us [T, B, F]."""
    lags = [None, *kernel.reshape(kernel.shape[0], 1, -1)]  # lags[k] = ω̂_k, [1, 1 or F]
    return torch.stack([-reference.history_sum(lags, us, m) for m in range(1, us.shape[0] + 1)])


# ------------------------------------------------------------------ engine forward
@pytest.mark.parametrize(
    "options",
    [dict(), dict(block=1, exact_lags=1), dict(block=5, exact_lags=2), dict(block=16, exact_lags=40)],
)
def test_blocked_recurrence_is_the_fitted_convolution(options):
    torch.manual_seed(0)
    T = 150  # several compactions of the state buffer
    us = torch.randn(T, 3, 4, dtype=torch.float64)
    mem = FractionalMemory(0.45, "soe", memory_options=dict(options, horizon=1000, tol=1e-5))
    c = _run(mem, us)
    expected = _direct(_fitted_kernel(mem, T), us)
    assert torch.allclose(c, expected, rtol=0, atol=1e-13)


def test_per_neuron_and_multi_term_kernels():
    torch.manual_seed(1)
    us = torch.randn(60, 2, 3, dtype=torch.float64)
    alpha = torch.tensor([0.3, 0.6, 1.0])
    mem = FractionalMemory(alpha, "soe", memory_options=SMALL)
    c = _run(mem, us)
    kernel = _fitted_kernel(mem, 60)  # [T, 3]: one kernel per neuron
    assert torch.allclose(c, _direct(kernel, us), atol=1e-13)
    assert torch.equal(c[:, :, 2], torch.zeros_like(c[:, :, 2]))  # α = 1: no memory, exactly

    mem = FractionalMemory([0.4, 0.9], "soe", coefficients=[1.0, 0.5], step_size=0.1, memory_options=SMALL)
    c = _run(mem, us)
    assert torch.allclose(c, _direct(_fitted_kernel(mem, 60), us), atol=1e-13)


@pytest.mark.parametrize("alpha", [0.45, torch.tensor([0.3, 0.6, 1.0]), [0.4, 0.9]])
def test_lag_weights_are_the_fitted_kernel(alpha):
    """``lag_weights`` (a short fused sequence's adjoint sums them): ρ_k = −ω̂_k over the exact
    head, the block's tail and the exponential sum beyond, as the convolution applies them."""
    coefficients = [1.0, 0.5] if isinstance(alpha, list) else None
    mem = FractionalMemory(alpha, "soe", coefficients=coefficients, memory_options=SMALL)
    us = torch.zeros(40, 2, 3, dtype=torch.float64)
    us[0] = 1.0  # an impulse: c_m = ρ_m
    c = _run(mem, us)
    weights = SoeMemory.lag_weights(mem.engine.convolution, 40)
    assert weights.shape[0] == 40 and not weights.requires_grad
    kernel = _fitted_kernel(mem, 40).reshape(40, -1)
    torch.testing.assert_close(weights, -kernel.to(weights.dtype), rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(weights.expand(40, 3), c[:, 0], rtol=1e-12, atol=1e-15)
    assert torch.equal(SoeMemory.lag_weights(mem.engine.convolution, 5), weights[:5])


@pytest.mark.parametrize("alpha", [0.3, 0.6, 0.9])
def test_agrees_with_the_exact_engine_within_the_promised_bound(alpha):
    torch.manual_seed(2)
    us = torch.randn(400, 4, 5, dtype=torch.float64)
    soe, exact = _run(FractionalMemory(alpha, "soe"), us), _run(FractionalMemory(alpha, "exact"), us)
    # |Δc_n| ≤ tol · Σ_k |ω_k| · max|u| ≤ tol · (1 − α) · max|u|
    assert (soe - exact).abs().max() <= 1e-6 * (1 - alpha) * us.abs().max()
    assert (soe - exact).abs().max() > 0  # it is an approximation beyond k0 lags


def test_float32_agrees_with_float64():
    torch.manual_seed(3)
    us = torch.randn(300, 4, 8, dtype=torch.float64)
    c64 = _run(FractionalMemory(0.6, "soe"), us)
    c32 = _run(FractionalMemory(0.6, "soe"), us.float())
    assert c32.dtype == torch.float32
    assert torch.allclose(c32.double(), c64, atol=2e-6 * us.abs().max())


def test_state_does_not_grow_with_the_sequence():
    mem = FractionalMemory(0.6, "soe")
    sizes = []
    for T in (100, 1000):
        _run(mem, torch.randn(T, 2, 8))
        conv = mem.engine._conv
        sizes.append((conv.store.data.numel(), conv.modes.numel()))
    assert sizes[0] == sizes[1]
    assert mem.engine.modes == conv.modes.shape[0]


# ------------------------------------------------------------------ autograd
def _with_alpha(mem: FractionalMemory, before: torch.Tensor | None = None):
    """f(us, α) through ``mem`` with α substituted (steps in ``before`` run without grad, then detach)."""

    def f(us, alpha):
        mem.reset()
        if before is not None:
            with torch.no_grad():
                for u in before:
                    functional_call(mem, {"order.alpha_param": alpha}, (u,))
            mem.detach()
        return torch.stack([functional_call(mem, {"order.alpha_param": alpha}, (u,)) for u in us])

    return f


@pytest.mark.parametrize(
    "kwargs, alpha",
    [
        (dict(alpha=0.605), [0.605]),
        (dict(alpha=[0.405, 0.805], coefficients=[1.0, 0.5]), [0.405, 0.805]),
        (dict(alpha=torch.tensor([0.305, 0.605, 0.905])), [[0.305, 0.605, 0.905]]),
    ],
    ids=["single", "multi-term", "per-neuron"],
)
def test_gradcheck_inputs_and_alpha(kwargs, alpha):
    # α off the 0.01 grid: the rates are chosen per sequence for α rounded outwards to 0.01, so a
    # finite difference across a grid line would compare two different fits.
    torch.manual_seed(4)
    mem = FractionalMemory(memory="soe", learn_alpha=True, memory_options=SMALL, **kwargs).double()
    us = torch.randn(11, 2, 3, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_with_alpha(mem), (us, a))
    # continuing after detach() mid-block: the earlier past is a constant of the new graph
    assert torch.autograd.gradcheck(_with_alpha(mem, torch.randn(6, 2, 3, dtype=torch.float64)), (us, a))


@pytest.mark.parametrize("alpha", [[0.605], [[0.305, 0.705]]], ids=["layer", "per-neuron"])
def test_alpha_gradient_over_a_long_sequence(alpha):
    # long enough for the stored past (kept for the α-gradient) to outgrow its first buffer
    torch.manual_seed(12)
    kwargs = dict(alpha=torch.tensor(alpha[0])) if isinstance(alpha[0], list) else dict(alpha=alpha[0])
    mem = FractionalMemory(memory="soe", learn_alpha=True, memory_options=SMALL, **kwargs).double()
    us = torch.randn(70, 3, 2, dtype=torch.float64)
    a = torch.tensor(alpha, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a: _with_alpha(mem)(us, a).square().sum(), (a,))


def test_gradcheck_fixed_alpha_through_many_blocks():
    torch.manual_seed(5)
    mem = FractionalMemory(0.5, "soe", memory_options=SMALL).double()
    us = torch.randn(30, 2, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u: _run(mem, u), (us,))


def test_alpha_gradient_matches_the_exact_engine():
    torch.manual_seed(6)
    x = 0.9 + 0.5 * torch.randn(300, 4, 16, dtype=torch.float64)
    grads = {}
    for memory in ("exact", "soe"):
        layer = LIFNeuron(tau=2.0, alpha=0.6, learn_alpha=True, memory=memory, surrogate_opt="sigmoid").double()
        v = []
        for xt in x:
            layer(xt)
            v.append(layer.v)
        torch.stack(v).square().mean().backward()
        grads[memory] = layer.memory.order.alpha_param.grad.clone()
    assert torch.allclose(grads["soe"], grads["exact"], rtol=1e-4)


# ------------------------------------------------------------------ spiking layer
@pytest.mark.parametrize("alpha", [0.3, 0.6, 0.9])
def test_spiking_lif_layer_against_exact(alpha):
    tol, T = 1e-6, 1024
    gen = torch.Generator().manual_seed(7)
    x = 1.0 + 0.5 * torch.randn(T, 2, 64, generator=gen, dtype=torch.float64)
    runs = {}
    for memory in ("exact", "soe"):
        layer = LIFNeuron(tau=2.0, alpha=alpha, memory=memory).double()
        v, s = [], []
        with torch.no_grad():
            for xt in x:
                s.append(layer(xt))
                v.append(layer.v)
        runs[memory] = torch.stack(v), torch.stack(s)
    (v_e, s_e), (v_s, s_s) = runs["exact"], runs["soe"]
    assert torch.equal(s_s, s_e) and s_e.sum() > 1000  # same spike trains, and plenty of spikes
    assert (v_s - v_e).abs().max() <= 10 * tol * v_e.abs().max()


def test_native_neuron_multi_step():
    torch.manual_seed(8)
    layer = LIFNeuron(tau=2.0, alpha=0.6, memory="soe", step_mode="m")
    x = torch.randn(40, 3, 5, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert "soe(tol=1e-06, modes=" in repr(layer)


# ------------------------------------------------------------------ API and errors
def test_registered_and_validated():
    assert "soe" in fracneuron.memory.names()
    for bad, match in [
        (dict(tol=0.0), "tol"),
        (dict(tol=0.5), "tol"),
        (dict(horizon=0), "horizon"),
        (dict(exact_lags=0), "exact_lags"),
        (dict(block=1.5), "block"),
    ]:
        with pytest.raises(ValueError, match=match):
            FractionalMemory(0.5, "soe", memory_options=bad)
    with pytest.raises(TypeError, match="soe"):
        FractionalMemory(0.5, "soe", memory_options=dict(window=3))


def test_shape_dtype_and_reset():
    mem = FractionalMemory(0.5, "soe")
    mem(torch.zeros(2, 3))
    with pytest.raises(StateShapeError, match="reset"):
        mem(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="dtype"):
        mem(torch.zeros(2, 3, dtype=torch.float64))
    mem.reset()
    assert mem.steps == 0 and mem.engine.state_shape is None
    mem(torch.zeros(4, 3))
    assert mem.steps == 1


@pytest.mark.parametrize("alpha", [0.7, torch.tensor([0.3, 0.7, 0.9])], ids=["layer", "per-neuron"])
def test_detach_and_moves_keep_the_values(alpha):
    # (SMALL's blocks are 4 steps: 10 and 21 are mid-block, where a kernel per neuron has pushed
    # the block's earlier states into its far part and must push them again)
    torch.manual_seed(9)
    us = torch.randn(37, 2, 3)
    uncut = FractionalMemory(alpha, "soe", memory_options=SMALL)
    reference = torch.stack([uncut(u) for u in us])
    mem = FractionalMemory(alpha, "soe", memory_options=SMALL)
    out = []
    for t, u in enumerate(us):
        if t == 10:
            mem.detach()
        if t == 21:
            mem.to("cpu")  # a device move mid-sequence (a no-op copy here)
        out.append(mem(u))
    assert torch.equal(torch.stack(out), reference)
    mem.double()  # dtype move mid-sequence: the past follows the module
    assert mem(us[0].double()).dtype == torch.float64


@pytest.mark.parametrize("alpha", [0.7, torch.tensor([0.3, 0.7, 0.9])], ids=["layer", "per-neuron"])
def test_forks_continue_independently(alpha):
    """Two handles forked mid-block (SpikingJelly's functional states) each continue as an uncut
    run of their own inputs would, bit for bit: neither writes into the other's block."""
    torch.manual_seed(10)
    prefix, a, b = torch.randn(10, 2, 3), torch.randn(9, 2, 3), torch.randn(9, 2, 3)
    mem = FractionalMemory(alpha, "soe", memory_options=SMALL)
    order = mem.order
    expected = {}
    for name, rest in (("a", a), ("b", b)):
        mem.reset()
        expected[name] = torch.stack([mem(u) for u in torch.cat([prefix, rest])])[10:]
    mem.reset()
    for u in prefix:
        mem(u)
    engine, twin = mem.engine, mem.engine.fork()
    out_a, out_b = [], []
    for ua, ub in zip(a, b):  # interleaved: each step of one between two of the other
        out_a.append(engine.correction(ua - mem.anchor, order))
        out_b.append(twin.correction(ub - mem.anchor, order))
    assert torch.equal(torch.stack(out_a), expected["a"])
    assert torch.equal(torch.stack(out_b), expected["b"])


def test_copies_continue_the_sequence():
    torch.manual_seed(13)
    layer = LIFNeuron(tau=2.0, alpha=0.6, learn_alpha=True, memory="soe", memory_options=SMALL)
    x = 1.5 * torch.rand(30, 2, 3)
    for xt in x[:17]:
        layer(xt)  # stop mid-block, with a graph attached

    def rest(neuron):
        out = []
        for xt in x[17:]:
            neuron(xt)
            out.append(neuron.v)
        return torch.stack(out).detach()

    copies = [copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))]
    expected = rest(layer)
    for clone in copies:
        assert torch.equal(rest(clone), expected)


def test_horizon_warning_is_issued_once():
    mem = FractionalMemory(0.5, "soe", memory_options=dict(horizon=20, tol=1e-4))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _run(mem, torch.randn(30, 1, 2))
    assert sum("horizon" in str(w.message) for w in caught) == 1


def test_engine_describes_itself():
    engine = SoeMemory(tol=1e-4, horizon=1000)
    assert engine.modes is None and "modes=?" in engine.describe()
    mem = FractionalMemory(0.5, engine)
    mem(torch.zeros(1, 2))
    assert engine.modes == engine.fit.modes and f"modes={engine.modes}" in engine.describe()
    assert math.isfinite(engine.fit.error) and engine.fit.error <= 1e-4
