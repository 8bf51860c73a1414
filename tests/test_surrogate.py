"""fracneuron.surrogate: Heaviside forward, the documented derivative backward, names and errors."""

import copy
import math
import pickle

import pytest
import torch

from fracneuron import surrogate

X = torch.linspace(-2, 2, 41, dtype=torch.float64)

FORMULAS = {
    "arctan": lambda x, k: (k / 2) / (1 + (math.pi / 2 * k * x) ** 2),
    "sigmoid": lambda x, k: k * torch.sigmoid(k * x) * (1 - torch.sigmoid(k * x)),
    "fast_sigmoid": lambda x, k: 1 / (1 + k * x.abs()) ** 2,
    "inverse_square": lambda x, k: 1 / (1 + k * x.abs()) ** 2,
    "triangle": lambda x, k: k * torch.clamp(1 - k * x.abs(), min=0),
    "rectangle": lambda x, k: k * (x.abs() < 1 / (2 * k)).double(),
    "gaussian": lambda x, k: k / math.sqrt(2 * math.pi) * torch.exp(-((k * x) ** 2) / 2),
    "relu_grad": lambda x, k: torch.clamp(k * (1 - x.abs()), min=0),
}


@pytest.mark.parametrize("name", sorted(FORMULAS))
def test_forward_is_heaviside_and_backward_is_the_formula(name):
    k = 1.7
    x = X.clone().requires_grad_()
    s = surrogate.spike(x, name, k)
    assert torch.equal(s, (X >= 0).double())
    (g,) = torch.autograd.grad(s.sum(), x)
    torch.testing.assert_close(g, FORMULAS[name](X, k), rtol=1e-14, atol=1e-15)


def test_unit_area_surrogates_integrate_to_one():
    wide = torch.linspace(-5000, 5000, 2_000_001, dtype=torch.float64)  # arctan's tails are heavy
    narrow = torch.linspace(-5, 5, 1_000_001, dtype=torch.float64)
    for name, x in (("arctan", wide), ("sigmoid", narrow), ("triangle", narrow), ("rectangle", narrow), ("gaussian", narrow)):
        area = torch.trapezoid(surrogate.DERIVATIVES[name](x, 3.0), x).item()
        assert area == pytest.approx(1.0, abs=1e-3), name


def test_spikede_names_keep_spikede_meaning():
    assert surrogate.get("arctan_surrogate", 5.0) == surrogate.get("arctan", 5.0)
    assert surrogate.get("sigmoid_surrogate", 5.0) == surrogate.get("sigmoid", 5.0)
    # spikeDE's piecewise_linear_surrogate(γ): 1/(2γ) on |x| <= γ
    x = torch.tensor([0.0, 1.9, 2.1], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(surrogate.spike(x, "piecewise_linear_surrogate", 2.0).sum(), x)
    torch.testing.assert_close(g, torch.tensor([0.25, 0.25, 0.0], dtype=torch.float64))
    # spikeDE's gaussian_surrogate(σ): the normal density with standard deviation σ
    x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(surrogate.spike(x, "gaussian_surrogate", 2.0).sum(), x)
    expected = torch.exp(-(x.detach() ** 2) / 8) / (2 * math.sqrt(2 * math.pi))
    torch.testing.assert_close(g, expected)


def test_default_scales_and_aliases():
    assert surrogate.get("arctan").scale == 2.0
    assert surrogate.get("superspike").scale == 25.0
    assert surrogate.get("atan").name == "arctan"
    assert {"arctan", "sigmoid", "fast_sigmoid", "triangle", "rectangle", "gaussian", "inverse_square", "relu_grad"} <= set(surrogate.names())


def test_output_dtype_follows_input():
    assert surrogate.spike(torch.zeros(3), "sigmoid").dtype == torch.float32
    assert surrogate.spike(torch.zeros(3, dtype=torch.float64), "sigmoid").dtype == torch.float64


def test_spike_functions_pickle_and_copy():
    fn = surrogate.get("fast_sigmoid", 10.0)
    assert pickle.loads(pickle.dumps(fn)) == fn
    assert copy.deepcopy(fn) == fn


def test_unknown_name_and_bad_scale_are_rejected():
    with pytest.raises(ValueError, match="unknown surrogate 'tanh'; choose one of 'arctan'"):
        surrogate.get("tanh")
    with pytest.raises(ValueError, match="surrogate scale must be a finite number > 0"):
        surrogate.get("arctan", -1.0)
    with pytest.raises(ValueError, match="surrogate width must be > 0"):
        surrogate.get("gaussian_surrogate", 0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_heaviside_compares_into_a_float_tensor(dtype):
    # one pass into x's dtype (or into ``out``): 1 where x >= 0 (-0 included), 0 below and for NaN
    x = torch.tensor([-1.0, -0.0, 0.0, 1e-30, -1e-30, float("inf"), -float("inf"), float("nan")], dtype=dtype)
    want = torch.tensor([0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0], dtype=dtype)
    got = surrogate.heaviside(x)
    assert got.dtype == dtype and torch.equal(got, want)
    out = torch.empty(2, 8, dtype=dtype)
    assert surrogate.heaviside(x, out[1]).data_ptr() == out[1].data_ptr() and torch.equal(out[1], want)
