"""What users may not do with fracneuron's neurons, memories and adapters, and what they are told.

One row per misuse: the call, the error type, and the words of the message (it names the
argument and what is allowed). Every row fails with the clear error before anything runs deep in
torch. Coefficients and ``soe`` options have their own tables below (issue 11 items 6 and 9).
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.memory import FractionalMemory
from fracneuron.memory import StateShapeError
from fracneuron.memory.soe import SoeMemory
from fracneuron.neuron import ALIFNeuron, IFNeuron, LIFNeuron
from fracneuron.order import FractionalOrder
from fracneuron.soe_fit import fit_rates, smallest_tol


def _step(neuron, *inputs):
    for x in inputs:
        neuron(x)


def _sj(name="LIFNode", **kwargs):
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    return fn.fractional(getattr(neuron, name))(**kwargs)


def _snn(name="Leaky", **kwargs):
    snn = pytest.importorskip("snntorch")
    kwargs.setdefault("beta", 0.5)
    return fn.fractional(getattr(snn, name))(**kwargs)


def _sj_class(name):
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    return getattr(neuron, name)


def _snn_class(name):
    snn = pytest.importorskip("snntorch")
    return getattr(snn, name)


#: id -> (what the user does, the error, the words of the message)
REFUSED = {
    # ------------------------------------------------------------------ the order α
    "alpha 0": (lambda: LIFNeuron(alpha=0.0), ValueError, r"alpha must be in \(0, 1\], got 0"),
    "alpha above 1": (lambda: LIFNeuron(alpha=1.5), ValueError, r"alpha must be in \(0, 1\], got 1.5"),
    "alpha nan": (lambda: LIFNeuron(alpha=math.nan), ValueError, r"alpha must be in \(0, 1\], got nan"),
    "alpha inf": (lambda: LIFNeuron(alpha=math.inf), ValueError, r"alpha must be in \(0, 1\], got inf"),
    "alpha a string": (lambda: LIFNeuron(alpha="0.5"), TypeError, "alpha must be a float, a list of floats or a tensor"),
    "alpha an empty list": (lambda: LIFNeuron(alpha=[]), ValueError, "alpha must not be an empty list"),
    "alpha an empty tensor": (lambda: LIFNeuron(alpha=torch.tensor([])), ValueError, "alpha must hold at least one order"),
    "alpha a multi-term entry out of range": (lambda: LIFNeuron(alpha=[0.3, 1.2]), ValueError, r"alpha\[1\] must be in \(0, 1\]"),
    "alpha a tensor that requires grad": (
        lambda: LIFNeuron(alpha=torch.tensor(0.6, requires_grad=True)), ValueError,
        "alpha is a tensor that requires grad.*pass learn_alpha=True",
    ),
    "coefficients a tensor that requires grad": (
        lambda: LIFNeuron(alpha=[0.3, 0.6], coefficients=torch.ones(2, requires_grad=True)), ValueError,
        "coefficients is a tensor that requires grad.*learn_coefficients=True",
    ),
    "a per-neuron alpha of the wrong shape": (
        lambda: _step(LIFNeuron(alpha=torch.full((5,), 0.5)), torch.rand(2, 4)), ValueError,
        r"alpha of shape \(5,\) does not fit the neurons' feature shape \(4,\)",
    ),
    "per_neuron with a per-neuron tensor": (
        lambda: FractionalOrder(torch.full((3,), 0.5), per_neuron=True), ValueError, "per_neuron=True takes a float or list alpha",
    ),
    "set_alpha out of range": (lambda: FractionalOrder(0.5).set_alpha(2.0), ValueError, r"alpha must be in \(0, 1\]"),
    # ----------------------------------------------------------------- the neuron
    "tau 0": (lambda: LIFNeuron(tau=0.0), ValueError, "tau must be > 0, got 0"),
    "tau inf": (lambda: LIFNeuron(tau=math.inf), ValueError, "tau must be > 0, got inf"),
    "threshold inf": (lambda: LIFNeuron(threshold=math.inf), ValueError, "threshold must be a finite number, got inf"),
    "threshold nan": (lambda: IFNeuron(threshold=math.nan), ValueError, "threshold must be a finite number, got nan"),
    "hard reset to nan": (lambda: LIFNeuron(spk_reset="hard", v_reset=math.nan), ValueError, "v_reset must be a finite number, got nan"),
    "hard reset to inf": (lambda: LIFNeuron(spk_reset="hard", v_reset=-math.inf), ValueError, "v_reset must be a finite number, got -inf"),
    "hard reset to +inf (IF)": (lambda: IFNeuron(spk_reset="hard", v_reset=math.inf), ValueError, "v_reset must be a finite number, got inf"),
    "ALIF threshold nan": (lambda: ALIFNeuron(threshold=math.nan), ValueError, "threshold must be a finite number, got nan"),
    "ALIF hard reset to nan": (lambda: ALIFNeuron(spk_reset="hard", v_reset=math.nan), ValueError, "v_reset must be a finite number, got nan"),
    "unknown reset": (lambda: LIFNeuron(spk_reset="zero"), ValueError, "unknown spk_reset 'zero'; choose one of 'hard', 'soft'"),
    "unknown step mode": (lambda: LIFNeuron(step_mode="x"), ValueError, "unknown step_mode 'x'; choose one of 'm', 's'"),
    "unknown surrogate": (lambda: LIFNeuron(surrogate_opt="tanh"), ValueError, "unknown surrogate 'tanh'; choose one of 'arctan'"),
    "surrogate scale 0": (lambda: LIFNeuron(surrogate_grad_scale=0.0), ValueError, "surrogate scale must be a finite number > 0"),
    "surrogate scale inf": (lambda: LIFNeuron(surrogate_grad_scale=math.inf), ValueError, "surrogate scale must be a finite number > 0"),
    "adaptation time constant 0": (lambda: ALIFNeuron(tau_adapt=0.0), ValueError, "tau_adapt must be > 0"),
    "negative adaptation": (lambda: ALIFNeuron(adapt_strength=-1.0), ValueError, "adapt_strength must be >= 0"),
    "infinite adaptation": (lambda: ALIFNeuron(adapt_strength=math.inf), ValueError, "adapt_strength must be a finite number"),
    "an integer input": (lambda: LIFNeuron()(torch.ones(2, 3, dtype=torch.int64)), TypeError, "x must be a floating-point tensor"),
    "'m' mode without a time axis": (lambda: LIFNeuron(step_mode="m")(torch.rand(4)), ValueError, r"step_mode='m' expects x of shape \[T, B, \.\.\.\]"),
    "a batch-size change mid-sequence": (
        lambda: _step(LIFNeuron(alpha=0.5), torch.rand(2, 3), torch.rand(4, 3)), StateShapeError, "call reset\\(\\) before a new batch",
    ),
    "a dtype change mid-sequence": (
        lambda: _step(FractionalMemory(0.5), torch.rand(2, 3), torch.rand(2, 3, dtype=torch.float64)), ValueError,
        "state dtype/device changed .* move the module with .to\\(\\) or reset it first",
    ),
    # ------------------------------------------------------------------- the memory
    "unknown memory": (lambda: LIFNeuron(memory="ring"), ValueError, "unknown memory 'ring'; choose one of 'exact', 'soe', 'window'"),
    "memory not a name": (lambda: FractionalMemory(0.5, memory=3), TypeError, "memory must be an engine name or a MemoryEngine"),
    "window 0": (lambda: LIFNeuron(memory="window", memory_options={"window": 0}), ValueError, "window must be an integer >= 1"),
    "an unknown memory option": (lambda: LIFNeuron(memory="exact", memory_options={"size": 3}), TypeError, "invalid options for memory 'exact'"),
    "options with an engine instance": (
        lambda: FractionalMemory(0.5, SoeMemory(), memory_options={"tol": 1e-4}), ValueError,
        "memory_options are for a memory given by name",
    ),
    # ---------------------------------------------------------------- SpikingJelly
    "SpikingJelly: alpha out of range": (lambda: _sj(alpha=2.0), ValueError, r"alpha must be in \(0, 1\]"),
    "SpikingJelly: a PSN node": (lambda: fn.fractional(_sj_class("PSN")), TypeError, "PSN family computes its potential as a learnable weighted sum"),
    "SpikingJelly: a batch change without reset_net": (
        lambda: _step(_sj(alpha=0.5), torch.rand(2, 3), torch.rand(4, 3)), StateShapeError, "reset_net",
    ),
    "SpikingJelly: a readout over no time steps": (
        lambda: _sj("NonSpikingLIFNode", alpha=0.5)(torch.zeros(0, 2, 3)), ValueError, "needs T >= 1",
    ),
    "SpikingJelly: a functional state that is not one": (
        lambda: _sj(alpha=0.5).functional_forward((torch.rand(2, 3),), (torch.zeros(2, 3), "past")), TypeError,
        "the 'frac_state' state must be a FractionalState or None",
    ),
    # -------------------------------------------------------------------- snnTorch
    "snnTorch: alpha out of range": (lambda: _snn(alpha=0.0), ValueError, r"alpha must be in \(0, 1\]"),
    "snnTorch: Synaptic's frac_alpha out of range": (
        lambda: _snn("Synaptic", alpha=0.9, frac_alpha=1.5), ValueError, r"frac_alpha: alpha must be in \(0, 1\]",
    ),
    "snnTorch: the Alpha neuron": (lambda: fn.fractional(_snn_class("Alpha")), TypeError, "snntorch.Alpha cannot be made fractional"),
    "snnTorch: a batch change mid-sequence": (
        lambda: _step_snn(_snn(alpha=0.5, init_hidden=True), torch.rand(2, 3), torch.rand(4, 3)), StateShapeError,
        "the batch size changed without a reset",
    ),
    "snnTorch: a state passed to an init_hidden neuron": (
        lambda: _snn("Synaptic", alpha=0.9, frac_alpha=0.5, init_hidden=True)(torch.rand(2, 3), torch.zeros(2, 3)), TypeError,
        "should not be passed as an argument while `init_hidden=True`",
    ),
    # ------------------------------------------------------------------- conversion
    "fractional() of an instance": (lambda: fn.fractional(LIFNeuron()), TypeError, "fractional\\(\\) takes a neuron class"),
    "fractional() of a non-neuron class": (lambda: fn.fractional(nn.Linear), TypeError, "is not a neuron class fracneuron can make fractional"),
    "fractionalize() of a non-module": (lambda: fn.fractionalize([LIFNeuron()], alpha=0.5), TypeError, "fractionalize\\(\\) takes an nn.Module"),
    "fractionalize() of a model without neurons": (
        lambda: fn.fractionalize(nn.Sequential(nn.Linear(2, 2)), alpha=0.5), ValueError, "found no neuron it supports",
    ),
}


def _step_snn(neuron, *inputs):
    for x in inputs:
        neuron(x)


@pytest.mark.parametrize("action, error, message", REFUSED.values(), ids=REFUSED.keys())
def test_users_are_told_what_is_wrong(action, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(error, match=message):
            action()


# ---------------------------------------------------------------------- coefficients (item 6)
COEFFICIENT_RANGE = r"must be > 0 and finite, in \(0, inf\)"


def _fractionalize(**kwargs):
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    return fn.fractionalize(nn.Sequential(nn.Linear(2, 2), neuron.LIFNode()), **kwargs)


def _wrapper(alpha, coefficients):
    net = nn.Sequential(nn.Linear(2, 2), LIFNeuron())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a flat alpha list's multi-term reading is announced
        return fn.SNNWrapper(net, integrator="fdeint", alpha=alpha, multi_coefficient=coefficients)


def _fdeint(alpha, coefficients):
    return fn.fdeint(lambda t, y: -y, torch.ones(3), torch.linspace(0, 1, 5), alpha,
                     options={"coefficients": coefficients})


#: every constructor that takes coefficients: (alpha, coefficients) -> object
ENTRY_POINTS = {
    "FractionalOrder": lambda a, c: FractionalOrder(a, c),
    "FractionalMemory": lambda a, c: FractionalMemory(a, coefficients=c),
    "native LIFNeuron": lambda a, c: LIFNeuron(alpha=a, coefficients=c),
    "SpikingJelly adapter": lambda a, c: _sj(alpha=a, coefficients=c),
    "snnTorch adapter": lambda a, c: _snn(alpha=a, coefficients=c),
    "fractionalize": lambda a, c: _fractionalize(alpha=a, coefficients=c),
    "SNNWrapper multi_coefficient": _wrapper,
    "fdeint options['coefficients']": _fdeint,
}
BAD_COEFFICIENTS = {"zero": 0.0, "nan": math.nan, "inf": math.inf, "negative": -2.0}
#: (alpha, coefficients with the bad value, the index the message names)
ORDER_FORMS = {
    "one alpha": (0.5, lambda bad: [bad], 0),
    "alpha list of one": ([0.5], lambda bad: [bad], 0),
    "two terms": ([0.4, 0.9], lambda bad: [1.0, bad], 1),
    "two terms, tensor": ([0.4, 0.9], lambda bad: torch.tensor([1.0, bad]), 1),
}

#: entry points that take coefficients only with a list of orders, and what they say to one α
LIST_ONLY = {
    "SNNWrapper multi_coefficient": r"multi_coefficient is for a multi-term alpha",
    "fdeint options['coefficients']": r"options\['coefficients'\] is for a multi-term alpha",
}


def _coefficient_rows():
    rows = []
    for entry in ENTRY_POINTS:
        for form, (alpha, make, index) in ORDER_FORMS.items():
            message = rf"coefficients\[{index}\] {COEFFICIENT_RANGE}"
            if entry in LIST_ONLY and form == "one alpha":
                message = LIST_ONLY[entry]
            for label, bad in BAD_COEFFICIENTS.items():
                rows.append(pytest.param(entry, alpha, make, bad, message, id=f"{entry}-{form}-{label}"))
    return rows


@pytest.mark.parametrize("entry, alpha, make, bad, message", _coefficient_rows())
def test_coefficients_must_be_finite_and_positive_everywhere(entry, alpha, make, bad, message):
    with pytest.raises(ValueError, match=message):
        ENTRY_POINTS[entry](alpha, make(bad))


def test_good_coefficients_still_build_and_one_alpha_with_its_coefficient_scales_the_derivative():
    # c·D^α v = f is D^α v = f / c: one coefficient of 2 halves the first increment's scale
    plain = FractionalOrder(0.5).increment_scale(torch.float64, torch.device("cpu"))
    scaled = FractionalOrder(0.5, [2.0]).increment_scale(torch.float64, torch.device("cpu"))
    assert float(scaled) == pytest.approx(float(plain) / 2.0, rel=1e-14)
    for entry, build in ENTRY_POINTS.items():
        alpha = [0.5] if entry in LIST_ONLY else 0.5
        assert build(alpha, [2.0]) is not None, entry
        assert build([0.4, 0.9], torch.tensor([1.0, 0.5])) is not None, entry


# ----------------------------------------------------------------------- soe options (item 9)
SOE_REFUSED = {
    "horizon below exact_lags": (dict(horizon=4), r"memory_options\['horizon'\] must be > memory_options\['exact_lags'\] \(16\)"),
    "horizon equal to exact_lags": (dict(horizon=16), r"memory_options\['horizon'\] must be >"),
    "horizon at most a small exact_lags": (dict(horizon=3, exact_lags=3), r"must be > memory_options\['exact_lags'\] \(3\)"),
    "tol far below float64": (dict(tol=1e-15), r"memory_options\['tol'\] must be in \[9\.4e-10, 0\.1\]"),
    "tol just below the floor": (dict(tol=5e-10), r"memory_options\['tol'\] must be in \[9\.4e-10, 0\.1\]"),
    "tol below the floor of a short horizon": (dict(tol=1e-14, horizon=1000), r"must be in \[5\.3e-12, 0\.1\]"),
    "tol above 0.1": (dict(tol=0.5), r"memory_options\['tol'\] must be a float in \(0, 0\.1\]"),
    "tol not a number": (dict(tol=math.nan), r"memory_options\['tol'\]"),
    "horizon not an integer": (dict(horizon="abc"), r"memory_options\['horizon'\] must be an integer >= 1, got 'abc'"),
    "block zero": (dict(block=0), r"memory_options\['block'\] must be an integer >= 1"),
}
#: how the options reach the engine: every path builds it at construction
SOE_ENTRY_POINTS = {
    "SoeMemory": lambda options: SoeMemory(**options),
    "FractionalMemory": lambda options: FractionalMemory(0.5, "soe", memory_options=options),
    "native LIFNeuron": lambda options: LIFNeuron(alpha=0.5, memory="soe", memory_options=options),
    "fractionalize": lambda options: _fractionalize(alpha=0.5, memory="soe", memory_options=options),
}


@pytest.mark.parametrize("entry", SOE_ENTRY_POINTS)
@pytest.mark.parametrize("options, message", SOE_REFUSED.values(), ids=SOE_REFUSED.keys())
def test_soe_refuses_impossible_options_at_construction(entry, options, message):
    with pytest.raises(ValueError, match=message):
        SOE_ENTRY_POINTS[entry](options)


def test_soe_fit_refuses_the_same_options_directly():
    with pytest.raises(ValueError, match=r"horizon must be > exact_lags \(16\)"):
        fit_rates(1e-6, 4, 16, 0.5, 0.5)
    with pytest.raises(ValueError, match=r"tol must be in \[9\.4e-10, 0\.1\]"):
        fit_rates(1e-15, 100_000, 16, 0.5, 0.5)


@pytest.mark.parametrize("horizon, exact_lags", [(17, 16), (1000, 4), (100_000, 16)])
def test_the_smallest_accepted_tol_is_reached_for_every_order(horizon, exact_lags):
    """The bound the constructor states is one the fit really reaches, whatever α the engine
    later sees (single orders near both ends, and a per-neuron range)."""
    tol = smallest_tol(horizon)
    assert tol == pytest.approx(4 * 2.220446049250313e-16 * math.lgamma(horizon + 1), rel=0.02)
    for alpha in (0.001, 0.3, 0.999, torch.tensor([0.05, 0.5, 0.99])):
        memory = FractionalMemory(alpha, SoeMemory(tol=tol, horizon=horizon, exact_lags=exact_lags)).double()
        for _ in range(3):
            memory(torch.ones(2, 3, dtype=torch.float64))
        assert memory.engine.fit.error <= tol
    with pytest.raises(ValueError, match="tol"):
        SoeMemory(tol=tol * 0.9, horizon=horizon, exact_lags=exact_lags)


# ------------------------------------------------------------- what is allowed at the edges
def test_empty_states_and_sequences_are_fine():
    """Issue 11 item 11: no neurons, no batch or no time steps give empty results, not errors."""
    for memory in ("exact", "window", "soe"):
        for per_neuron in (False, True):
            lif = LIFNeuron(alpha=0.5, memory=memory, per_neuron_alpha=per_neuron, learn_alpha=True)
            assert lif(torch.rand(2, 0)).shape == (2, 0)
            seq = LIFNeuron(alpha=0.5, memory=memory, step_mode="m", per_neuron_alpha=per_neuron)
            assert seq(torch.rand(40, 2, 0)).shape == (40, 2, 0)
            seq = LIFNeuron(alpha=0.5, memory=memory, step_mode="m", per_neuron_alpha=per_neuron)
            assert seq(torch.rand(6, 0, 3)).shape == (6, 0, 3)
            for mode in ("m", "s"):  # an empty batch with a learned α: forward and backward
                lif = LIFNeuron(alpha=0.5, memory=memory, step_mode=mode, per_neuron_alpha=per_neuron, learn_alpha=True)
                x = torch.rand(6, 0, 3, requires_grad=True)
                out = lif(x) if mode == "m" else torch.stack([lif(x_t) for x_t in x])
                out.sum().backward()
                assert out.shape == x.shape and x.grad.shape == x.shape
    lif = LIFNeuron(alpha=0.5, step_mode="m")
    lif(torch.rand(3, 2, 4))
    v = lif.v
    assert lif(torch.rand(0, 2, 4)).shape == (0, 2, 4) and lif.v is v
