"""SNNWrapper: spikeDE's workflow on native neurons — shapes for every integrator and method, the
SpikingJelly equivalence at α = 1, per-layer / multi-term / learnable orders, methods that converge
to the analytic membrane, the adjoint integrators, bad input."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.neuron import ALIFNeuron, IFNeuron, LIFNeuron
from fracneuron.memory import FractionalMemory
from fracneuron.solvers.steppers import use_method

F64 = torch.float64
METHODS = ["gl", "l1", "pred", "abm", "trap"]


pytestmark = pytest.mark.usefixtures("single_thread")


class MLP(nn.Module):
    def __init__(self, tau=2.0):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.lif1 = LIFNeuron(tau, 1.0, 5.0)
        self.fc2 = nn.Linear(12, 4)
        self.lif2 = LIFNeuron(tau, 1.0, 5.0)
        with torch.no_grad():
            self.fc2.weight.mul_(6.0)

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.lif1 = LIFNeuron(2.0)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)
        self.lif2 = IFNeuron(1.0)

    def forward(self, x):
        return self.lif2(self.fc(self.pool(self.lif1(self.conv(x))).flatten(1)))


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(5, 8)
        self.lif1 = ALIFNeuron(2.0)
        self.block = nn.Linear(8, 8)
        self.lif2 = LIFNeuron(2.0)
        self.out = nn.Linear(8, 2)

    def forward(self, x):
        s = self.lif1(self.inp(x))
        return self.out(s + self.lif2(self.block(s)))


def spikes(steps=12, batch=3, features=6, seed=0):
    torch.manual_seed(seed)
    return (torch.rand(steps, batch, features) < 0.6).float() * 3.0


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("integrator", ["fdeint", "fdeint_adjoint", "odeint", "odeint_adjoint"])
def test_every_integrator_and_method_returns_time_batch_output(integrator):
    methods = METHODS + (["euler", "rk4"] if integrator.startswith("odeint") else [])
    x = spikes()
    t = torch.arange(12.0)
    for method in methods:
        torch.manual_seed(1)
        kwargs = {} if integrator.startswith("odeint") else {"alpha": 0.6, "learn_alpha": True}
        model = fn.SNNWrapper(MLP(), integrator=integrator, **kwargs)
        out = model(x, t, method=method, options={"memory": -1})
        assert out.shape == (12, 3, 4), (integrator, method)
        out.sum().backward()
        assert model.base.fc1.weight.grad.abs().sum() > 0, (integrator, method)
        if not integrator.startswith("odeint"):
            assert model.base.lif1.memory.order.alpha_param.grad is not None, (integrator, method)


@pytest.mark.parametrize("net, shape", [(CNN, (5, 2, 1, 8, 8)), (Residual, (5, 2, 5))])
def test_cnn_and_residual_networks_need_no_shape_registration(net, shape):
    torch.manual_seed(0)
    x = torch.rand(shape) * 4
    for integrator in ("fdeint", "fdeint_adjoint"):
        torch.manual_seed(1)
        model = fn.SNNWrapper(net(), integrator=integrator, alpha=[0.5, 0.8], alpha_mode="per_layer")
        model._set_neuron_shapes(input_shape=shape[2:])  # spikeDE scripts call it: accepted, no-op
        out = model(x, torch.linspace(0, 1, shape[0] + 1))  # spikeDE's T + 1 grid points
        assert out.shape == (shape[0], shape[1], 3 if net is CNN else 2)
        out.sum().backward()


# ----------------------------------------------------------------------------- α = 1
def test_alpha_one_step_one_equals_spikingjelly_lifnode_exactly():
    from spikingjelly.activation_based import functional
    from spikingjelly.activation_based.neuron import LIFNode

    def build(cell):
        torch.manual_seed(3)
        net = nn.Sequential(nn.Linear(6, 16), cell(), nn.Linear(16, 5), cell())
        with torch.no_grad():
            net[2].weight.mul_(6.0)
        return net

    x = torch.rand(40, 4, 6) * 4
    t = torch.arange(40.0)
    theirs = build(lambda: LIFNode(tau=2.0, decay_input=True, v_reset=None))
    functional.reset_net(theirs)
    hidden_theirs = []
    theirs[1].register_forward_hook(lambda m, i, o: hidden_theirs.append(o))
    reference = torch.stack([theirs(x_k) for x_k in x])
    assert reference.sum() > 0 and torch.stack(hidden_theirs).sum() > 0
    for integrator in ("fdeint", "odeint", "fdeint_adjoint"):
        ours = build(lambda: LIFNeuron(tau=2.0))
        hidden = []
        ours[1].register_forward_hook(lambda m, i, o: hidden.append(o))
        out = fn.SNNWrapper(ours, integrator=integrator, alpha=1.0)(x, t, method="gl")
        assert torch.equal(out, reference), integrator
        assert torch.equal(torch.stack(hidden), torch.stack(hidden_theirs)), integrator


def test_at_alpha_one_the_explicit_methods_are_the_same_euler_neuron():
    x, t = spikes(), torch.arange(12.0)
    torch.manual_seed(2)
    base = MLP()
    model = fn.SNNWrapper(base, integrator="odeint")
    euler = model(x, t, method="euler")
    for method in ("gl", "pred"):
        assert torch.equal(model(x, t, method=method), euler), method


# ----------------------------------------------------------------------------- fractional neurons
def test_wrapped_gl_equals_the_neurons_own_fractional_memory():
    x, t = spikes(seed=4), torch.arange(12.0) * 0.5
    torch.manual_seed(5)
    base = MLP()
    out = fn.SNNWrapper(base, alpha=0.7)(x, t, method="gl", options={"memory": -1})
    torch.manual_seed(5)
    own = MLP()
    for neuron in (own.lif1, own.lif2):
        neuron.memory = fn.FractionalMemory(0.7, "exact", step_size=0.5)
        neuron.step_size = 0.5
    assert torch.equal(out, torch.stack([own(x_k) for x_k in x]))


@pytest.mark.parametrize("method", METHODS)
def test_subthreshold_membrane_converges_to_mittag_leffler(method):
    # τ D^α v = −v + I, v(0) = 0 -> v(t) = I (1 − E_α(−t^α/τ)); no spike (threshold out of reach)
    alpha, tau, current, steps = 0.6, 2.0, 1.5, 400
    neuron = LIFNeuron(tau=tau, threshold=1e9)
    model = fn.SNNWrapper(nn.Sequential(neuron), alpha=alpha)
    potentials = []
    neuron.register_forward_hook(lambda m, i, o: potentials.append(m.v.clone()))
    t = torch.linspace(0, 4, steps + 1, dtype=F64)
    model.double()(torch.full((steps, 1, 1), current, dtype=F64), t, method=method)
    exact = current * (1 - fn.mittag_leffler(alpha, -(t[1:] ** alpha) / tau))
    error = (torch.stack(potentials).flatten() - exact).abs()
    assert error[-1] < {"gl": 2e-3, "pred": 2e-3, "l1": 2e-3, "abm": 1e-4, "trap": 1e-4}[method]


def test_method_neurons_fire_and_differ_from_each_other():
    x, t = spikes(steps=30, seed=6), torch.arange(30.0)
    outputs = {}
    for method in METHODS:
        torch.manual_seed(7)
        base = MLP()
        hidden = []
        base.lif1.register_forward_hook(lambda m, i, o: hidden.append(o))
        outputs[method] = fn.SNNWrapper(base, alpha=0.5)(x, t, method=method)
        assert torch.stack(hidden).sum() > 0, method
    assert not torch.equal(outputs["gl"], outputs["abm"])


def test_implicit_neuron_charge_is_exact_for_a_stiff_leak():
    # h/τ = 4: fixed-point iteration would diverge; the elementwise Newton solve is exact for LIF
    alpha, tau, current = 1.0, 0.25, 1.0
    neuron = LIFNeuron(tau=tau, threshold=1e9)
    model = fn.SNNWrapper(nn.Sequential(neuron), integrator="odeint")
    model.double()(torch.full((3, 1, 1), current, dtype=F64), torch.arange(3.0, dtype=F64), method="trap")
    v = torch.zeros((), dtype=F64)
    for _ in range(3):  # trapezoid rule for v' = (I − v)/τ, h = 1
        v = (v + 0.5 * ((current - v) / tau + current / tau)) / (1 + 0.5 / tau)
    torch.testing.assert_close(neuron.v.flatten()[0], v, rtol=1e-14, atol=1e-14)


# ----------------------------------------------------------------------------- orders
def test_per_layer_multi_term_and_learnable_orders():
    with pytest.warns(UserWarning, match="per-layer"):
        model = fn.SNNWrapper(MLP(), alpha=[0.3, 0.7])
    assert [float(a) for a in model.get_per_layer_alpha()] == [0.3, 0.7]
    model = fn.SNNWrapper(MLP(), alpha=[0.3, 0.7], alpha_mode="multiterm", multi_coefficient=[1.0, 0.5])
    assert all(a.tolist() == [0.3, 0.7] for a in model.get_per_layer_alpha())
    assert all(c.tolist() == [1.0, 0.5] for c in model.get_per_layer_coefficient())
    model = fn.SNNWrapper(MLP(), alpha=[[0.4, 0.9], 0.6], multi_coefficient=[[2.0, 1.0], None])
    assert model.get_per_layer_alpha()[0].tolist() == [0.4, 0.9] and float(model.get_per_layer_alpha()[1]) == 0.6

    model = fn.SNNWrapper(MLP(), alpha=[0.4, 0.9], multi_coefficient=[1.0, 1.0], learn_alpha=[True, False], learn_coefficient=True)
    names = {name for name, p in model.named_parameters() if "memory" in name}
    assert names == {"base.lif1.memory.order.alpha_param", "base.lif1.memory.order.coefficient_param", "base.lif2.memory.order.coefficient_param"}
    out = model(spikes(), torch.arange(12.0))
    out.sum().backward()
    order = model.base.lif1.memory.order
    assert order.alpha_param.grad.abs().sum() > 0 and order.coefficient_param.grad.abs().sum() > 0
    with torch.no_grad():
        order.alpha_param -= 100 * order.alpha_param.grad.sign()  # a huge step
    assert ((order.alpha > 0) & (order.alpha <= 1)).all()


def test_adjoint_integrator_equals_plain_integrator():
    x, t = spikes(steps=15, seed=8).double(), torch.arange(15.0, dtype=F64)
    results = []
    for integrator in ("fdeint", "fdeint_adjoint"):
        torch.manual_seed(9)
        model = fn.SNNWrapper(Residual().double(), integrator=integrator, alpha=0.6, learn_alpha=True)
        out = model(x[..., :5], t, method="abm")
        loss = (out**2).sum()
        results.append((out.detach(), *torch.autograd.grad(loss, list(model.parameters()))))
    for a, b in zip(*results):
        assert (a - b).norm() <= 1e-6 * max(float(b.norm()), 1e-30)


def test_adjoint_needs_each_neuron_once_per_step():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.lif = LIFNeuron()

        def forward(self, x):
            return self.lif(self.lif(x) + x)

    with pytest.raises(RuntimeError, match="called 2 times"):
        fn.SNNWrapper(Twice(), integrator="fdeint_adjoint")(torch.rand(3, 2, 4), torch.arange(3.0))


def test_memory_window_and_grid_forms():
    x = spikes()
    torch.manual_seed(10)
    model = fn.SNNWrapper(MLP(), alpha=0.5)
    full = model(x, torch.arange(12.0), options={"memory": -1, "step_size": 1.0})
    assert torch.equal(full, model(x, torch.arange(13.0)))  # T + 1 grid points: same steps
    assert torch.equal(full, model(x, torch.arange(12.0), options={"memory": 100}))
    assert model.base.lif1.memory.engine.describe() == "window(L=100)"


# ------------------------------------------------------- spikeDE's own scripts, import changed
class TutorialCNN(nn.Module):
    """spikeDE's "Introduction by Example" network: conv → LIF → pool → linear → LIF."""

    def __init__(self, tau=2.0, threshold=1.0, surrogate_grad_scale=0.3):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.lif1 = LIFNeuron(tau, threshold, surrogate_grad_scale)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 10)
        self.lif2 = LIFNeuron(tau, threshold, surrogate_grad_scale)

    def forward(self, x):
        out = self.pool(self.lif1(self.conv(x)))
        return self.lif2(self.fc(out.flatten(1)))


def test_spikede_tutorial_pattern_runs_unchanged():
    """The tutorial's loop: _set_neuron_shapes, a unit-interval grid of T + 1 points with
    options={"step_size": 1.0}, multi-term α, learn_alpha=True, backward, spikeDE's attributes."""
    torch.manual_seed(0)
    T = 10
    model = fn.SNNWrapper(
        TutorialCNN(), integrator="fdeint", alpha=[0.3, 0.8], multi_coefficient=[1.0, 0.5],
        learn_alpha=True, learn_coefficient=False,
    )
    model._set_neuron_shapes(input_shape=(1, 8, 8))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = 10 * torch.bernoulli(torch.full((T, 4, 1, 8, 8), 0.5))
    target = torch.tensor([1, 3, 5, 7])
    data_time = torch.linspace(0, 1.0, T + 1)
    with pytest.warns(UserWarning, match=r"step_size'\]=1.0 is ignored.*spacing 0.1"):
        output_seq = model(data, data_time, method="gl", options={"step_size": 1.0, "memory": -1})
    assert output_seq.shape == (T, 4, 10)
    loss = nn.CrossEntropyLoss()(output_seq.mean(dim=0) + 0.1 * model.base.fc(torch.ones(64)), target)
    optimizer.zero_grad()
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.per_layer_alpha_params)
    optimizer.step()

    assert model._alpha_case == model.alpha_case == "B"
    assert [a.shape for a in model.get_per_layer_alpha()] == [(2,), (2,)]
    assert [c.tolist() for c in model.per_layer_coefficient_params] == [[1.0, 0.5], [1.0, 0.5]]
    assert all(neuron.step_size == pytest.approx(0.1) for neuron in model.neurons)  # the spacing of t
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warned once per wrapper
        again = model(data, data_time, method="gl", options={"step_size": 1.0, "memory": -1})
    plain = model(data, 0.1 * torch.arange(T, dtype=torch.float32), method="gl")  # T points, same spacing
    assert torch.equal(again, plain)


def test_spikede_per_layer_example_attributes():
    """spikeDE's example_per_layer_alpha.py reads these (a list per layer)."""
    with pytest.warns(UserWarning, match="is ignored"):
        net = fn.SNNWrapper(MLP(), integrator="fdeint", alpha=[0.3, 0.7], alpha_mode="per_layer", learn_alpha=True)
        net._set_neuron_shapes(input_shape=(1, 6))
        out = net(spikes(steps=8), torch.linspace(0, 1, 8), method="gl", options={"step_size": 0.1, "memory": -1})
    assert out.shape == (8, 3, 4)
    assert net._alpha_case == "A"
    assert [p.tolist() for p in net.per_layer_alpha_params] == [[0.3], [0.7]]
    assert [p.tolist() for p in net.per_layer_coefficient_params] == [[1.0], [1.0]]
    assert [a.tolist() for a in net.get_per_layer_alpha()] == [[0.3], [0.7]]
    assert fn.SNNWrapper(MLP(), alpha=0.5)._alpha_case == "A_scalar"
    assert fn.SNNWrapper(MLP(), alpha=[[0.3, 0.6], 0.9])._alpha_case == "C"
    single = fn.SNNWrapper(MLP(), alpha=0.5)
    single(spikes(steps=3), torch.tensor([0.0]), options={"step_size": 0.25})  # one point: step_size is h
    assert single.neurons[0].step_size == 0.25


def test_odeint_ignores_fractional_arguments_with_a_warning():
    with pytest.warns(UserWarning, match="integer order.*alpha, learn_alpha ignored"):
        model = fn.SNNWrapper(MLP(), integrator="odeint", alpha=0.8, learn_alpha=True)
    assert model.get_per_layer_alpha()[0].tolist() == [1.0] and not list(model.per_layer_alpha_params[0].shape) == []
    assert not any("alpha" in name for name, _ in model.named_parameters())
    out = model(spikes(), torch.arange(12.0), method="euler")
    assert out.shape == (12, 3, 4)


def test_method_memory_without_a_method_is_the_fractional_memory():
    # A memory told "gl" with the engine it had charges exactly like one never told a method.
    torch.manual_seed(11)
    a, b = LIFNeuron(alpha=0.6), LIFNeuron(alpha=0.6)
    b.memory = FractionalMemory(0.6)
    use_method(b.memory, "gl")
    x = torch.rand(20, 3, 4) * 3
    assert torch.equal(torch.stack([a(x_k) for x_k in x]), torch.stack([b(x_k) for x_k in x]))
    assert math.isclose(float(b.alpha), 0.6)


@pytest.mark.parametrize("method", METHODS)
def test_method_memory_detach_keeps_values_and_cuts_the_graph(method):
    from fracneuron.solvers import memory_choice

    def neuron():
        cell = LIFNeuron(tau=2.0, alpha=0.6)
        cell.memory = FractionalMemory(0.6)
        use_method(cell.memory, method, memory_choice(-1), 1.0)
        return cell

    torch.manual_seed(12)
    x = torch.rand(12, 2, 3) * 2
    whole, cut = neuron(), neuron()
    reference = torch.stack([whole(x_k) for x_k in x])
    first = [cut(x_k) for x_k in x[:6]]
    cut.detach()
    x_late = x[6:].clone().requires_grad_()
    late = torch.stack([cut(x_k) for x_k in x_late])
    assert torch.equal(torch.cat([torch.stack(first), late]), reference)
    late.sum().backward()
    assert x_late.grad is not None


@pytest.mark.parametrize("method", METHODS)
def test_wrapped_model_copies_and_pickles_after_a_run(method):
    import copy
    import io

    torch.manual_seed(13)
    model = fn.SNNWrapper(MLP(), alpha=0.6, learn_alpha=True)
    x, t = spikes(), torch.arange(12.0)
    out = model(x, t, method=method)
    twin = copy.deepcopy(model)  # the trained state and the method, no autograd graph
    assert torch.equal(twin(x, t, method=method), out)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    assert torch.equal(torch.load(buffer, weights_only=False)(x, t, method=method), out)
