"""SNNWrapper's layer-by-layer path (fracneuron/wrapper/chain.py): a chain network run one layer at
a time on the whole sequence gives the stepped path's outputs, neuron states and gradients; every
network that is not a chain (or not time-distributable this call) is stepped, with the reason."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.neuron import IFNeuron, LIFNeuron
from fracneuron.wrapper.chain import module_reason, trace_chain

F64 = torch.float64
LAYERED = "layer by layer"

pytestmark = pytest.mark.usefixtures("single_thread")


class MLP(nn.Module):
    """spikeDE's MLPTest pattern: a custom class whose forward is a chain of submodule calls."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.lif1 = nn.Linear(6, 12), LIFNeuron(2.0, 1.0, 5.0)
        self.fc2, self.lif2 = nn.Linear(12, 4), IFNeuron(1.5, spk_reset="hard", v_reset=-0.2, tau_learnable=True)

    def forward(self, x):
        x = self.lif1(self.fc1(x))
        return self.lif2(self.fc2(x))


class CNN(nn.Module):
    """spikeDE's CNNTest pattern: Conv2d → LIF → MaxPool2d → Flatten → Linear → LIF."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.lif1, self.pool = nn.Conv2d(1, 4, 3, padding=1), LIFNeuron(2.0), nn.MaxPool2d(2)
        self.flatten, self.fc, self.lif2 = nn.Flatten(), nn.Linear(4 * 4 * 4, 3), LIFNeuron(2.0)

    def forward(self, x):
        out = self.pool(self.lif1(self.conv(x)))
        return self.lif2(self.fc(self.flatten(out)))


def sequential() -> nn.Module:
    inner = nn.Sequential(nn.Linear(12, 4), nn.LeakyReLU(0.1))  # a container in the chain: traced through
    return nn.Sequential(nn.Linear(6, 12), LIFNeuron(2.0), inner, LIFNeuron(2.0))


NETS = {"sequential": (sequential, (6,)), "custom MLP": (MLP, (6,)), "CNN": (CNN, (1, 8, 8))}


def build(make, dtype=F64, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    net = make()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                module.weight.mul_(8.0)  # so that every layer fires (~15 % at the output)
                module.bias.add_(0.3)
    return net.to(dtype)


def run(make, layered, shape=(6,), dtype=F64, steps=12, method="gl", options=None, **kwargs):
    """Output, gradients (x and every parameter) and final neuron potentials of one call."""
    model = fn.SNNWrapper(build(make, dtype), layer_by_layer=layered, **kwargs)
    x = torch.rand(steps, 3, *shape, dtype=dtype, generator=torch.Generator().manual_seed(1)).requires_grad_()
    out = model(x, torch.arange(steps + 1.0), method=method, options=dict(options or {"memory": -1}))
    weights = torch.linspace(-1, 1, out.numel(), dtype=dtype).reshape(out.shape)
    (out * weights).sum().backward()
    grads = {"x": x.grad, **{n: p.grad for n, p in model.named_parameters() if p.grad is not None}}
    return model, out.detach(), grads, [n.v.detach() for n in model.neurons]


def close(value, ref, tol=1e-12) -> bool:
    """Equal within ``tol`` relative to the largest entry (row sums in another order: rounding)."""
    return bool((value - ref).abs().max() <= tol * ref.abs().max())


def assert_same(a, b):
    """Spikes (the output) identical, final potentials and every gradient within 1e-12: a GEMM on
    [T·B, K] may round its last bit unlike T GEMMs on [B, K] (it does for small K here)."""
    (model, out, grads, states), (ref_model, ref_out, ref_grads, ref_states) = a, b
    assert model.path == LAYERED and ref_model.path == "stepped: layer_by_layer=False"
    assert torch.equal(out, ref_out)
    assert all(close(v, ref) for v, ref in zip(states, ref_states))
    assert grads.keys() == ref_grads.keys()
    assert all(close(grads[name], ref) for name, ref in ref_grads.items()), [
        name for name, ref in ref_grads.items() if not close(grads[name], ref)]


@pytest.mark.parametrize("net", NETS)
def test_chain_networks_run_layer_by_layer_as_stepping(net):
    """Float64, learned α: outputs and final potentials equal, gradients within 1e-12."""
    make, shape = NETS[net]
    layered = run(make, True, shape, alpha=0.6, learn_alpha=True)
    stepped = run(make, False, shape, alpha=0.6, learn_alpha=True)
    assert stepped[1].sum() > 0 and (stepped[1] == 0).any()  # the output neurons fire, not always
    assert_same(layered, stepped)
    assert any("alpha_param" in name for name in layered[2])


@pytest.mark.parametrize("net", NETS)
def test_float32_forward_is_equal(net):
    make, shape = NETS[net]
    layered, stepped = run(make, True, shape, torch.float32), run(make, False, shape, torch.float32)
    assert torch.equal(layered[1], stepped[1]) and layered[1].sum() > 0
    assert all(close(v, ref, 1e-5) for v, ref in zip(layered[3], stepped[3]))


@pytest.mark.parametrize(
    "orders",
    [
        dict(alpha=[0.5, 0.8], alpha_mode="per_layer", learn_alpha=[True, False]),
        dict(alpha=[[0.3, 0.7], 0.6], multi_coefficient=[[1.0, 0.5], [1.0]], learn_alpha=True, learn_coefficient=True),
        dict(alpha=1.0),
    ],
    ids=["per-layer", "multi-term", "alpha=1"],
)
def test_per_layer_multi_term_and_learned_orders(orders):
    assert_same(run(MLP, True, **orders), run(MLP, False, **orders))


@pytest.mark.parametrize(
    "integrator, method, options",
    [
        ("fdeint", "l1", {"memory": -1}), ("fdeint", "pred", {"memory": -1}), ("fdeint", "abm", {"memory": -1}),
        ("fdeint", "trap", {"memory": -1}), ("fdeint", "gl", {"memory": "soe"}), ("fdeint", "gl", {"memory": 4}),
        ("odeint", "euler", {}), ("odeint", "rk4", {}),
    ],
)
def test_other_methods_and_memories_are_equal(integrator, method, options):
    kwargs = dict(integrator=integrator, method=method, options=options)
    assert_same(run(MLP, True, **kwargs), run(MLP, False, **kwargs))


def test_neurons_are_left_as_stepping_leaves_them_and_the_next_call_is_the_same():
    x = torch.rand(10, 3, 6, dtype=F64, generator=torch.Generator().manual_seed(3))
    z = torch.rand(3, 12, dtype=F64)
    results = []
    for layered in (True, False):
        model = fn.SNNWrapper(build(MLP), alpha=0.7, layer_by_layer=layered)
        first = model(x, torch.arange(10.0))
        with torch.no_grad():  # values only: the history continues, its memory must be the stepped one
            after = model.base.lif1.single_step(z)
        second = model(x.flip(0), torch.arange(10.0))
        results.append((first, after, second))
    assert all(torch.equal(a, b) for a, b in zip(*results))


def test_hooks_of_layers_run_and_hooked_neurons_are_stepped():
    model = fn.SNNWrapper(build(sequential), alpha=0.6)
    seen = []
    model.base[0].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    model(torch.rand(5, 3, 6, dtype=F64), torch.arange(5.0))
    assert model.path == LAYERED and seen == [torch.Size([15, 12])]  # once, on the whole sequence
    model.base[1].register_forward_hook(lambda module, args, out: seen.append(out.shape))
    model(torch.rand(5, 3, 6, dtype=F64), torch.arange(5.0))
    assert model.path == "stepped: LIFNeuron '1' has hooks (they expect one call per step)"
    assert len(seen) == 11  # stepped: both hooks, each step


class Viewed(MLP):
    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x.view(x.size(0), -1)))))


class Residual(MLP):
    def forward(self, x):
        h = self.fc1(x)
        return self.lif2(self.fc2(self.lif1(h) + h))


class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc, self.lif1, self.lif2 = nn.Linear(6, 6), LIFNeuron(2.0), LIFNeuron(2.0)

    def forward(self, x):
        return self.lif2(self.fc(self.lif1(self.fc(x))))


class Branching(MLP):
    def forward(self, x):
        if x.sum() > 0:  # data-dependent: symbolic tracing cannot decide it
            x = self.fc1(x)
        return self.lif2(self.fc2(self.lif1(x)))


class ExtraArgument(MLP):
    def forward(self, x, gain=None):
        return super().forward(x)


class Unknown(nn.Module):
    def forward(self, x):
        return x * 2.0


def with_layer(layer, train: bool):
    """A network with a fresh ``layer()`` after its first linear layer, in training mode or not."""
    def make():
        net = nn.Sequential(nn.Linear(6, 12), layer(), LIFNeuron(2.0), nn.Linear(12, 4), LIFNeuron(2.0))
        return net.train(train)
    return make


STEPPED = {
    "view in forward": (Viewed, {}, "forward does call_method 'size'"),
    "residual add": (Residual, {}, "'fc1' is not used once, by the next call alone"),
    "module called twice": (Twice, {}, "Linear 'fc' is called twice"),
    "data-dependent control flow": (Branching, {}, "forward cannot be traced symbolically"),
    "extra argument": (ExtraArgument, {}, "forward takes 2 inputs, not one"),
    "batchnorm training": (with_layer(lambda: nn.BatchNorm1d(12), True), {}, "BatchNorm1d '1' uses batch statistics"),
    "dropout training": (with_layer(lambda: nn.Dropout(0.3), True), {}, "Dropout '1' is in training mode"),
    "unknown layer": (with_layer(Unknown, True), {}, "Unknown '1' is not a known time-distributable layer"),
    "in-place activation": (with_layer(lambda: nn.ReLU(inplace=True), True), {}, "ReLU '1' works in place"),
    "spectral norm training": (
        with_layer(lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(12, 12)), True), {},
        "ParametrizedLinear '1' is parametrized and in training mode"),
    "adjoint integrator": (MLP, {"integrator": "fdeint_adjoint"}, "integrator 'fdeint_adjoint' checkpoints each step"),
}


@pytest.mark.parametrize("case", STEPPED)
def test_networks_that_are_not_chains_are_stepped_with_the_reason(case):
    make, kwargs, reason = STEPPED[case]
    results = []
    for layered in (True, False):
        torch.manual_seed(5)  # the same dropout masks for both
        results.append(run(make, layered, **kwargs))
    (model, out, grads, states), (_, ref_out, ref_grads, _) = results
    assert model.path.startswith("stepped: " + reason), model.path
    assert torch.equal(out, ref_out)
    assert all(torch.equal(grads[name], ref_grads[name]) for name in ref_grads)


def test_eval_mode_batchnorm_and_dropout_run_layer_by_layer_and_training_is_rechecked():
    def make():
        net = nn.Sequential(nn.Linear(6, 12), nn.BatchNorm1d(12), nn.Dropout(0.5), LIFNeuron(2.0),
                            nn.Linear(12, 4), LIFNeuron(2.0))
        net[1].running_mean.uniform_(-0.5, 0.5)
        return net.eval()
    layered, stepped = run(make, True), run(make, False)
    assert_same(layered, stepped)
    model = layered[0]
    model.train()
    assert model.path.startswith("stepped: BatchNorm1d '1' uses batch statistics")
    model.eval()
    assert model.path == LAYERED


def test_every_kind_of_known_layer_runs_layer_by_layer_as_stepping():
    def make():
        net = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.GELU(), LIFNeuron(2.0), nn.AvgPool2d(2),
            nn.ConvTranspose2d(4, 4, 2, stride=2), nn.GroupNorm(2, 4), nn.MaxPool2d(2), nn.Dropout2d(0.5),
            IFNeuron(1.5), nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(16, 8), nn.LayerNorm(8),
            nn.PReLU(8), nn.Unflatten(1, (2, 4)), nn.Softmax(dim=-1), nn.Flatten(), nn.Identity(),
            nn.Linear(8, 3), LIFNeuron(2.0),
        )
        net[1].running_var.uniform_(0.5, 2.0)
        net[-2].bias.data.fill_(0.8)  # after the softmax: so that the output neurons fire
        return net.eval()
    layered, stepped = run(make, True, (1, 8, 8)), run(make, False, (1, 8, 8))
    assert stepped[1].sum() > 0 and (stepped[1] == 0).any()
    assert_same(layered, stepped)


def test_a_parametrized_layer_in_eval_mode_runs_layer_by_layer():
    make = with_layer(lambda: nn.utils.parametrizations.spectral_norm(nn.Linear(12, 12)), False)
    assert_same(run(make, True), run(make, False))


def test_a_replaced_module_is_traced_again():
    model = fn.SNNWrapper(build(sequential), alpha=0.6)
    assert model.path == LAYERED
    model.base[2][1] = Unknown()
    assert model.path == "stepped: Unknown '2.1' is not a known time-distributable layer"
    model.base[2][1] = nn.Sigmoid()
    assert model.path == LAYERED


@pytest.mark.parametrize(
    "layer, shape, reason",
    [
        (nn.Flatten(0), (6,), "Flatten '0': it flattens the batch dim"),
        (nn.Softmax(dim=0), (6,), "Softmax '0': it acts along the batch dim"),
        (nn.LayerNorm([3, 6]), (6,), "LayerNorm '0': it normalises over the batch dim"),
        (nn.Conv1d(3, 6, 1), (6,), "Conv1d '0': its step input has 2 dims, not the batched 3"),
    ],
)
def test_a_layer_acting_on_the_batch_dim_is_stepped(layer, shape, reason):
    net = nn.Sequential(layer, LIFNeuron(2.0)).double()
    model = fn.SNNWrapper(net, alpha=0.6)
    x = torch.rand(4, 3, *shape, dtype=F64)
    out = model(x, torch.arange(4.0))
    assert model.path == "stepped: " + reason
    ref = fn.SNNWrapper(net, alpha=0.6, layer_by_layer=False)(x, torch.arange(4.0))
    assert torch.equal(out, ref)


class Recording(MLP):
    def forward(self, x):
        self.calls = getattr(self, "calls", 0) + 1
        return super().forward(x)


def test_a_forward_that_sets_attributes_is_stepped_and_tracing_puts_them_back():
    net = build(Recording)
    assert trace_chain(net, [net.lif1, net.lif2]) == "forward sets attributes of the network (a side effect per step)"
    assert not hasattr(net, "calls")
    model = fn.SNNWrapper(net, alpha=0.6)
    model(torch.rand(4, 3, 6, dtype=F64), torch.arange(4.0))
    assert net.calls == 4 and model.path.startswith("stepped: forward sets attributes")


def test_module_reason_names_the_layer_and_accepts_known_ones():
    assert module_reason("fc", nn.Linear(2, 2)) is None
    assert module_reason("pool", nn.MaxPool2d(2, return_indices=True)) == "MaxPool2d 'pool' returns indices"
    assert module_reason("sm", nn.Softmax()) == "Softmax 'sm' has no explicit dim"

    class MyLinear(nn.Linear):
        def forward(self, x):
            return super().forward(x) * 2

    assert module_reason("fc", MyLinear(2, 2)) == "MyLinear 'fc' is not a known time-distributable layer"

    class Noisy(LIFNeuron):
        def forward(self, x):
            return super().forward(x + 0.1)

    assert module_reason("lif", Noisy()) == "Noisy 'lif' has its own forward (stepped by calls)"
    assert module_reason("lif", LIFNeuron()) is None


def test_path_is_read_only_and_in_the_repr():
    model = fn.SNNWrapper(build(MLP), alpha=0.6)
    assert model.path == LAYERED and "path=layer by layer" in repr(model)
    with pytest.raises(AttributeError):
        model.path = "stepped"


def test_a_wrapper_pickled_before_the_option_existed_runs_layer_by_layer():
    import pickle

    model = fn.SNNWrapper(build(MLP), alpha=0.6)
    for name in ("layer_by_layer", "_chain", "_chain_key", "_step_dims"):
        del model.__dict__[name]
    old = pickle.loads(pickle.dumps(model))
    x = torch.rand(5, 3, 6, dtype=F64)
    assert torch.equal(old(x, torch.arange(5.0)), model(x, torch.arange(5.0)))
    assert old.path == LAYERED


def test_layer_by_layer_leaves_no_reference_cycle():
    from cycles import cycle_garbage

    model = fn.SNNWrapper(nn.Sequential(nn.Linear(4, 6), LIFNeuron(tau=2.0)), integrator="fdeint", alpha=0.6, learn_alpha=True)
    x, t = torch.rand(12, 3, 4), torch.arange(12.0)

    def run():
        model(x, t, method="gl").sum().backward()

    assert model.path == "layer by layer"
    assert cycle_garbage(run) == {}
