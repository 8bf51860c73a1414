"""fracneuron.neuron.base: what every native neuron shares — state handling (reset, detach, moves,
pickling), argument checks, multi-step input, the refractory period and the spike trace (at α = 1
against a step-by-step loop, at α < 1 through the GL reference of tests/reference.py)."""

import copy
import math
import pickle

import pytest
import torch

from fracneuron.memory import StateShapeError
import fracneuron as fn
from fracneuron.neuron import LIFNeuron

import reference


def drive(T=40, B=4, N=6, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (0.6 + 0.8 * torch.randn(T, B, N, generator=g)).to(dtype)


def test_state_errors_reset_and_detach():
    lif = LIFNeuron(alpha=0.6)
    lif(torch.ones(4, 3))
    with pytest.raises(StateShapeError, match="call reset"):
        lif(torch.ones(5, 3))
    lif.reset()
    lif(torch.ones(5, 3, requires_grad=True))
    lif.detach()
    assert not lif.v.requires_grad


def test_to_double_moves_state_and_history():
    lif = LIFNeuron(alpha=0.6)
    lif(torch.ones(2, 3))
    lif.double()
    assert lif.v.dtype == torch.float64
    lif(torch.ones(2, 3, dtype=torch.float64))


def test_neurons_pickle_and_deepcopy():
    lif = LIFNeuron(alpha=0.6, learn_alpha=True)
    lif(torch.ones(2, 3))
    clone = copy.deepcopy(lif)
    assert torch.equal(clone(torch.ones(2, 3)), lif(torch.ones(2, 3)))
    restored = pickle.loads(pickle.dumps(LIFNeuron(alpha=0.6)))
    assert restored.alpha.item() == pytest.approx(0.6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tau=0.0), "tau must be > 0"),
        (dict(tau=-1.0), "tau must be > 0"),
        (dict(alpha=1.2), r"alpha must be in \(0, 1\]"),
        (dict(surrogate_opt="nope"), "unknown surrogate 'nope'"),
        (dict(spk_reset="medium"), "unknown spk_reset 'medium'"),
        (dict(step_mode="x"), "unknown step_mode 'x'"),
        (dict(memory="nope"), "unknown memory 'nope'"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIFNeuron(**kwargs)


def test_multi_step_needs_a_time_dimension():
    with pytest.raises(ValueError, match=r"step_mode='m' expects x of shape \[T, B, ...\]"):
        LIFNeuron(step_mode="m")(torch.ones(3))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        LIFNeuron()([1.0, 2.0])


# ------------------------------------------------------------- refractoriness and traces (item 18)
def integer_order_loop(x, tau, threshold, refractory, trace_tau, increment, update, hard, v_reset=0.0, leak=True):
    """The α = 1 neuron with PySNN's refractory period and trace, written out step by step."""
    v = torch.full_like(x[0], v_reset if hard else 0.0)
    resting = torch.zeros_like(x[0])
    trace = torch.zeros_like(x[0])
    spikes, potentials, traces = [], [], []
    decay = math.exp(-1.0 / trace_tau)
    for xt in x:
        rest = v_reset if hard else 0.0
        h = v + (xt - (v - rest)) / tau if leak else v + xt / tau
        h = torch.where(resting > 0, v, h)
        s = ((h - threshold >= 0) & (resting == 0)).to(x.dtype)
        v = s * v_reset + (1 - s) * h if hard else h - threshold * s
        resting = torch.where(s > 0, torch.full_like(resting, refractory), (resting - 1).clamp(min=0))
        if update == "additive":
            trace = decay * trace + increment * s
        elif update == "exponential":  # PySNN: trace += (dt / tau_t) * (-trace + alpha_t * x), dt = 1
            trace = trace + (increment * s - trace) / trace_tau
        else:
            trace = torch.where(s > 0, increment * s, decay * trace)
        spikes.append(s), potentials.append(v), traces.append(trace)
    return torch.stack(spikes), torch.stack(potentials), torch.stack(traces)


@pytest.mark.parametrize("update", ["additive", "exponential", "nearest"])
@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("refractory", [0, 1, 3])
def test_refractory_period_and_trace_at_alpha_one(refractory, hard, update):
    x = drive(T=60, dtype=torch.float64) * 1.5
    kw = dict(spk_reset="hard", v_reset=-0.2) if hard else {}
    lif = LIFNeuron(tau=2.0, threshold=1.0, refractory=refractory, trace_tau=4.0, trace_increment=0.5, trace_update=update, **kw)
    spikes, potentials, traces = [], [], []
    for xt in x:
        spikes.append(lif(xt)), potentials.append(lif.v), traces.append(lif.trace)
    want = integer_order_loop(x, 2.0, 1.0, refractory, 4.0, 0.5, update, hard, v_reset=-0.2 if hard else 0.0)
    assert 0 < want[0].sum() < want[0].numel()
    assert torch.equal(torch.stack(spikes), want[0])
    torch.testing.assert_close(torch.stack(potentials), want[1], rtol=0, atol=1e-14)
    torch.testing.assert_close(torch.stack(traces), want[2], rtol=0, atol=1e-14)
    if refractory:  # silent for R steps after every spike
        s = want[0]
        for lag in range(1, refractory + 1):
            assert (s[lag:] * s[:-lag]).sum() == 0


def test_refractory_membrane_enters_the_fractional_history():
    """At α < 1 the held potentials are states like any other: the GL reference with the same
    hold rule gives the same trajectory."""
    x = drive(T=50, dtype=torch.float64) * 1.5
    alpha, R = 0.6, 2
    lif = LIFNeuron(tau=2.0, alpha=alpha, refractory=R).double()
    got = []
    for xt in x:
        lif(xt)
        got.append(lif.v)
    resting = torch.zeros_like(x[0])

    def hold_fire_reset(h, v):  # the held potential is the state, spikes only outside the hold
        nonlocal resting
        h = torch.where(resting > 0, v, h)
        s = ((h >= 1.0) & (resting == 0)).double()
        resting = torch.where(s > 0, torch.full_like(resting, R), (resting - 1).clamp(min=0))
        return h - s, h - s

    history = reference.gl_run(x, lambda xn, v: (xn - v) / 2.0, alpha, fire=hold_fire_reset)
    torch.testing.assert_close(torch.stack(got), torch.stack(history), rtol=0, atol=1e-12)


def test_trace_and_refractory_state_reset_detach_and_move():
    lif = LIFNeuron(tau=2.0, refractory=2, trace_tau=3.0, step_mode="m")
    x = drive(T=10) * 2
    lif(x.requires_grad_())
    assert lif.trace.grad_fn is not None and lif.resting.dtype == torch.int64
    lif.detach()
    assert lif.trace.grad_fn is None
    lif.double()
    assert lif.trace.dtype == torch.float64 and lif.resting.dtype == torch.int64
    lif.reset()
    assert lif.trace is None and lif.resting is None
    assert "refractory=2" in repr(lif) and "trace(tau=3" in repr(lif)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(refractory=-1), "refractory must be an integer number of steps >= 0"),
        (dict(refractory=1.5), "refractory must be an integer"),
        (dict(trace_tau=0.0), "trace_tau must be > 0"),
        (dict(trace_tau=2.0, trace_increment=float("nan")), "trace_increment must be a finite number"),
        (dict(trace_tau=2.0, trace_update="multiplicative"), "unknown trace_update 'multiplicative'"),
    ],
)
def test_refractory_and_trace_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIFNeuron(**kwargs)


def test_pysnn_trace_names_are_accepted():
    assert LIFNeuron(trace_tau=2.0, trace_update="linear").trace_update == "additive"
    assert LIFNeuron(trace_tau=2.0, trace_update="exponential").trace_update == "exponential"
    with pytest.raises(ValueError, match="trace_update"):
        LIFNeuron(trace_tau=2.0, trace_update="multiplicative")


@pytest.mark.parametrize("cls", ["IFNeuron", "ALIFNeuron"])
def test_refractory_period_and_trace_in_the_other_native_neurons(cls):
    """IF (no leak) and ALIF (here without adaptation, so its membrane is LIF's) hold, fire and
    trace like LIF at α = 1: the same hand-written loop."""
    x = drive(T=60, dtype=torch.float64) * 1.5
    kw = dict(adapt_strength=0.0) if cls == "ALIFNeuron" else {}
    neuron = getattr(fn, cls)(tau=2.0, threshold=1.0, refractory=2, trace_tau=4.0, trace_increment=0.5, **kw)
    spikes, potentials, traces = [], [], []
    for xt in x:
        spikes.append(neuron(xt)), potentials.append(neuron.v), traces.append(neuron.trace)
    want = integer_order_loop(x, 2.0, 1.0, 2, 4.0, 0.5, "additive", False, leak=cls == "ALIFNeuron")
    assert 0 < want[0].sum() < want[0].numel()
    assert torch.equal(torch.stack(spikes), want[0])
    torch.testing.assert_close(torch.stack(potentials), want[1], rtol=0, atol=1e-14)
    torch.testing.assert_close(torch.stack(traces), want[2], rtol=0, atol=1e-14)


def test_forgetting_reset_between_batches_is_warned_once_in_multi_step_mode():
    """Issue 11 item 13: a multi-step call continuing a history 50 times its own length."""
    import warnings

    lif = LIFNeuron(tau=2.0, alpha=0.6, step_mode="m")
    batch = drive(T=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(50):
            lif(batch)
    with pytest.warns(RuntimeWarning, match=r"neuron\.reset\(\)"):
        lif(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lif(batch)  # once per neuron
        lif.reset()
        for _ in range(60):
            lif(batch)
            lif.detach()  # truncated BPTT over one long sequence is not warned about
    single = LIFNeuron(tau=2.0, alpha=0.6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(300):  # single-step loops are left alone
            single(batch[0])
