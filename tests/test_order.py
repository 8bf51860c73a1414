"""fracneuron.order.FractionalOrder: validation, learnable α kept in (0, 1], per-neuron, checkpoints."""

import pytest
import torch

from fracneuron.order import ALPHA_MIN, FractionalOrder


def test_fixed_alpha_is_exactly_the_given_value():
    order = FractionalOrder(0.3)
    assert order.alpha.dtype == torch.float64 and order.alpha.item() == 0.3
    assert not order.is_markovian
    assert FractionalOrder(1.0).is_markovian
    assert not FractionalOrder(1.0, learn_alpha=True).is_markovian
    assert list(order.parameters()) == []


def test_learnable_alpha_is_projected_into_range_with_straight_through_gradient():
    order = FractionalOrder(0.5, learn_alpha=True)
    with torch.no_grad():
        order.alpha_param.fill_(1.7)
    assert order.alpha.item() == 1.0  # exactly 1: the integer-order neuron
    order.alpha.sum().backward()
    assert order.alpha_param.grad.item() == 1.0  # the gradient still reaches θ, so α can leave 1
    with torch.no_grad():
        order.alpha_param.fill_(-3.0)
    assert order.alpha.item() == ALPHA_MIN


def test_learnable_alpha_trains_and_stays_in_range():
    order = FractionalOrder(0.9, learn_alpha=True)
    opt = torch.optim.SGD(order.parameters(), lr=0.5)
    for _ in range(20):  # push α up hard: it must stop at 1
        opt.zero_grad()
        (-order.alpha).backward()
        opt.step()
        assert 0 < order.alpha.item() <= 1.0
    assert order.alpha.item() == 1.0


def test_multi_term_and_coefficients():
    order = FractionalOrder([0.3, 0.7], [1.0, 2.0], learn_coefficients=True)
    assert order.terms == 2 and order.alpha.shape == (2,)
    torch.testing.assert_close(order.coefficients(), torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert all(p.requires_grad for p in order.parameters())


def test_learn_coefficients_without_values_starts_at_one():
    order = FractionalOrder([0.3, 0.7], learn_coefficients=True)
    torch.testing.assert_close(order.coefficients(), torch.ones(2, dtype=torch.float64))


def test_per_neuron_order_materializes_from_feature_shape():
    order = FractionalOrder(0.6, learn_alpha=True, per_neuron=True)
    assert not order.is_materialized
    with pytest.raises(RuntimeError, match="no shape yet"):
        order.alphas()
    order.materialize((4, 3))
    assert order.alphas().shape == (1, 4, 3)
    assert torch.all(order.alpha == 0.6)


def test_native_checkpoint_without_alpha_still_loads():
    model = torch.nn.Module()
    model.order = FractionalOrder(0.6, learn_alpha=True)
    result = model.load_state_dict({}, strict=True)  # a native model has no α key
    assert result.missing_keys == []
    assert model.order.alpha.item() == pytest.approx(0.6)


def test_state_dict_round_trip_keeps_learned_alpha():
    a = FractionalOrder(0.6, learn_alpha=True)
    with torch.no_grad():
        a.alpha_param.fill_(0.42)
    b = FractionalOrder(0.9, learn_alpha=True)
    b.load_state_dict(a.state_dict())
    assert b.alpha.item() == pytest.approx(0.42)


def test_gl_weights_are_cached_only_when_fixed():
    fixed = FractionalOrder(0.5)
    w1, _ = fixed.gl(10, torch.float32, torch.device("cpu"))
    w2, _ = fixed.gl(10, torch.float32, torch.device("cpu"))
    assert w1 is w2
    learn = FractionalOrder(0.5, learn_alpha=True)
    w3, _ = learn.gl(10, torch.float32, torch.device("cpu"))
    assert w3.requires_grad


def test_set_alpha_updates_markovian_flag():
    order = FractionalOrder(0.5)
    order.set_alpha(1.0)
    assert order.is_markovian
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        order.set_alpha(2.0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(alpha=0.0), ValueError, r"alpha must be in \(0, 1\], got 0.0"),
        (dict(alpha=1.01), ValueError, r"alpha must be in \(0, 1\]"),
        (dict(alpha=[0.5, 1.2]), ValueError, r"alpha\[1\] must be in \(0, 1\]"),
        (dict(alpha=[]), ValueError, "empty"),
        (dict(alpha=[0.5, 0.6], coefficients=[1.0]), ValueError, "one entry per alpha term"),
        (dict(alpha=[0.5, 0.6], coefficients=[1.0, -1.0]), ValueError, r"coefficients\[1\] must be > 0"),
        (dict(alpha=0.5, step_size=0.0), ValueError, "step_size must be > 0"),
        (dict(alpha="half"), TypeError, "alpha must be"),
        (dict(alpha=torch.tensor([0.5, 0.6]), coefficients=[1.0, 1.0]), ValueError, "coefficients"),
    ],
)
def test_bad_orders_are_rejected_with_clear_messages(kwargs, error, match):
    with pytest.raises(error, match=match):
        FractionalOrder(**kwargs)


def test_alpha_stays_float64_through_dtype_conversions():
    order = FractionalOrder([0.3, 0.7], [1.0, 0.5], learn_alpha=True)
    order.half()
    order.float()
    assert order.alphas().dtype == torch.float64 and order.alphas().tolist() == [0.3, 0.7]
    assert order.coefficients().dtype == torch.float64
    assert isinstance(order.alpha_param, torch.nn.Parameter)


def test_a_learned_per_neuron_alpha_loads_into_a_fresh_order():
    trained = FractionalOrder(0.7, learn_alpha=True, per_neuron=True)
    trained.materialize((2, 3))
    with torch.no_grad():
        trained.alpha_param.copy_(torch.linspace(0.2, 0.9, 6, dtype=torch.float64).reshape(1, 2, 3))
    fresh = FractionalOrder(0.7, learn_alpha=True, per_neuron=True)
    fresh.load_state_dict(trained.state_dict())
    assert fresh.is_materialized and torch.equal(fresh.alphas(), trained.alphas())
