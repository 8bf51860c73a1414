"""What users may not pass as fractional options, and what they are told (issue 11, items 6 and 9).

Multi-term coefficients c_i of Σ_i c_i D^{α_i} must be finite and > 0 — for a single α as for a
list, as floats or as a tensor — at every entry point that takes them. The ``soe`` engine refuses,
when it is built, the options no fit can satisfy: a horizon that does not reach past the exact
lags, and a ``tol`` below what the float64 fit reaches for that horizon.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.memory import FractionalMemory
from fracneuron.memory.soe import SoeMemory
from fracneuron.neuron import LIFNeuron
from fracneuron.order import FractionalOrder
from fracneuron.soe_fit import fit_rates, smallest_tol

COEFFICIENT_RANGE = r"must be > 0 and finite, in \(0, inf\)"


def _spikingjelly_node(**kwargs):
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    return fn.fractional(neuron.LIFNode)(**kwargs)


def _snntorch_leaky(**kwargs):
    snn = pytest.importorskip("snntorch")
    return fn.fractional(snn.Leaky)(beta=0.5, **kwargs)


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
    "SpikingJelly adapter": lambda a, c: _spikingjelly_node(alpha=a, coefficients=c),
    "snnTorch adapter": lambda a, c: _snntorch_leaky(alpha=a, coefficients=c),
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


# ---------------------------------------------------------------------- soe options
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
