"""fracneuron_spikingjelly.nodes: bit-exact at α = 1, the GL reference at α < 1, SpikingJelly behaviour
kept. The swap, the class factory, the supported classes and the plugin have their own test files.

The reference is tests/reference.py, written from DESIGN.md's formula only (no fracneuron code):

    H_n = v0 + s·Δ_n − Σ_{k=1..n} w̃_k (v_{n−k} − v0),    w_0 = 1, w_k = w_{k−1}(1 − (α+1)/k)

with multi-term weights W_k = Σ_i c_i w_k^{(α_i)} (h = 1), w̃ = W / W_0 and s = 1 / W_0.
"""

import copy
import io
import pickle
import warnings

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.memory import StateShapeError

from reference import gl_run, threshold_fire

pytest.importorskip("spikingjelly")

from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402


T, B, N = 24, 3, 5


def drive(dtype=torch.float64, steps=T, batch=B, seed=0, mean=1.0):
    g = torch.Generator().manual_seed(seed)
    return (mean + torch.randn(steps, batch, N, generator=g)).to(dtype)


def fires_and_rests(spikes):
    """Both branches of fire/reset are exercised (at least 5 spikes and 5 silent steps)."""
    return 5 <= spikes.sum() <= spikes.numel() - 5


def run(node, x):
    """Drive a node over the sequence x [T, B, N] in its own step mode."""
    if node.step_mode == "m":
        return node(x)
    return torch.stack([node(xt) for xt in x])


# ----------------------------------------------------------------------------- reference
def reference(x, increment, v_init, alphas, coefficients=None, threshold=1.0, v_reset=0.0, window=None, spiking=True):
    """Direct GL stepping of one node (tests/reference.py); returns (spikes or potentials [T, ...],
    v after each step).

    Caputo: the history is measured from v0 = v_init, the state the sequence starts from."""
    fire = threshold_fire(threshold, v_reset) if spiking else None
    steps = gl_run(x, increment, alphas, coefficients, v0=v_init, window=window, fire=fire)
    if not spiking:
        return torch.stack(steps), torch.stack(steps)
    return torch.stack([out for out, _ in steps]), torch.stack([v for _, v in steps])


def lif_increment(tau, v0, decay_input=True):
    if decay_input:
        return lambda x, v: (x - (v - v0)) / tau
    return lambda x, v: -(v - v0) / tau + x


def if_increment(x, v):
    return x


class LegacyLIF(neuron.BaseNode):
    """A SpikingJelly < 2.0 style BaseNode: its own neuronal_charge, no transition."""

    def __init__(self, tau=2.0, **kwargs):
        super().__init__(**kwargs)
        self.tau = tau

    def neuronal_charge(self, x):
        self.v = self.v + (x - (self.v - 0.0)) / self.tau


class QuadraticNode(neuron.SimpleBaseNode):
    """A user SimpleBaseNode with a nonlinear charge."""

    def neuronal_charge(self, x):
        self.v = self.v + 0.5 * x - 0.1 * self.v * self.v


# name -> (class, constructor kwargs, increment (its leak's rest level inside), v_init, v_reset used by the reference)
CASES = {
    "lif_hard": (neuron.LIFNode, dict(tau=2.0), lif_increment(2.0, 0.0), 0.0, 0.0),
    "lif_soft": (neuron.LIFNode, dict(tau=2.0, v_reset=None), lif_increment(2.0, 0.0), 0.0, None),
    "lif_reset_-0.3": (neuron.LIFNode, dict(tau=2.0, v_reset=-0.3), lif_increment(2.0, -0.3), -0.3, -0.3),
    "lif_no_decay_input": (
        neuron.LIFNode,
        dict(tau=2.0, decay_input=False),
        lif_increment(2.0, 0.0, decay_input=False),
        0.0, 0.0,
    ),
    "if": (neuron.IFNode, dict(), if_increment, 0.0, 0.0),
    "plif": (neuron.ParametricLIFNode, dict(init_tau=2.0), lif_increment(2.0, 0.0), 0.0, 0.0),  # w = 0
    "simple_lif": (
        neuron.SimpleLIFNode,
        dict(tau=2.0, decay_input=True, v_reset=-0.3),
        lif_increment(2.0, -0.3),
        0.0, -0.3,  # SimpleBaseNode starts at v = 0 whatever v_reset is: the history's anchor is 0
    ),
    "simple_if": (neuron.SimpleIFNode, dict(v_reset=None), if_increment, 0.0, None),
    "user_simple": (QuadraticNode, dict(), lambda x, v: 0.5 * x - 0.1 * v * v, 0.0, 0.0),
    "user_base_charge": (LegacyLIF, dict(tau=2.0), lif_increment(2.0, 0.0), 0.0, 0.0),
}


ORDERS = {"0.3": ([0.3], None), "0.7": ([0.7], None), "multi": ([0.3, 0.8], [1.0, 0.5])}


def fractional_node(case, order, mode, **extra):
    cls, kwargs, *_ = CASES[case]
    alphas, coefficients = ORDERS[order]
    alpha = alphas[0] if len(alphas) == 1 else alphas
    return fn.fractional(cls)(**kwargs, step_mode=mode, alpha=alpha, coefficients=coefficients, **extra).double()


# ------------------------------------------------------------------------- α = 1 bit-exact
BIT_EXACT = {
    "lif_hard": (neuron.LIFNode, dict(tau=2.0)),
    "lif_soft": (neuron.LIFNode, dict(tau=2.0, v_reset=None)),
    "lif_reset_-0.3": (neuron.LIFNode, dict(tau=2.0, v_reset=-0.3)),
    "lif_no_decay_input": (neuron.LIFNode, dict(tau=2.0, decay_input=False)),
    "lif_detach_reset": (neuron.LIFNode, dict(tau=2.0, detach_reset=True)),
    "if": (neuron.IFNode, dict()),
    "plif": (neuron.ParametricLIFNode, dict(init_tau=3.0)),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("case", sorted(BIT_EXACT))
def test_alpha_one_is_the_native_node_bit_for_bit(case, mode, dtype):
    cls, kwargs = BIT_EXACT[case]
    x = drive(dtype).requires_grad_()
    native = cls(**kwargs, step_mode=mode, store_v_seq=True).to(dtype)
    swapped = fn.fractionalize(copy.deepcopy(native), alpha=1.0)
    built = fn.fractional(cls)(**kwargs, step_mode=mode, store_v_seq=True, alpha=1.0).to(dtype)
    # learn_alpha at α = 1 runs the fractional path itself (the correction is an exact zero)
    learnable = fn.fractional(cls)(**kwargs, step_mode=mode, store_v_seq=True, alpha=1.0, learn_alpha=True).to(dtype)
    expected = run(native, x)
    assert fires_and_rests(expected)
    (grad,) = torch.autograd.grad(expected.sum() + native.v_seq.sum(), x)
    for node in (swapped, built, learnable):
        spikes = run(node, x)
        assert torch.equal(spikes, expected)
        assert torch.equal(node.v, native.v)
        assert torch.equal(node.v_seq, native.v_seq)
        (got,) = torch.autograd.grad(spikes.sum() + node.v_seq.sum(), x)
        if node is learnable and dtype == torch.float32:
            # same surrogate, but autograd's op order, not the fused float32 op's hand-written backward
            torch.testing.assert_close(got, grad, rtol=1e-6, atol=1e-6)
        else:
            assert torch.equal(got, grad)


# ------------------------------------------------------------------- α < 1 vs the reference
@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_direct_gl_reference(case, order, mode):
    cls, kwargs, increment, v_init, v_reset = CASES[case]
    alphas, coefficients = ORDERS[order]
    x = drive(mean=2.0)
    node = fractional_node(case, order, mode)
    spikes = run(node, x)
    v_seq = []
    node.reset()
    for xt in x.unbind(0):  # the post-step potentials, step by step in either mode
        run(node, xt[None])
        v_seq.append(node.v)
    threshold = node.v_threshold
    want_spikes, want_v = reference(x, increment, v_init, alphas, coefficients, threshold, v_reset)
    assert fires_and_rests(want_spikes)
    assert torch.equal(spikes, want_spikes)
    torch.testing.assert_close(torch.stack(v_seq), want_v, rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [neuron.NonSpikingLIFNode, neuron.NonSpikingIFNode])
@pytest.mark.parametrize("order", sorted(ORDERS))
def test_readouts_match_the_reference_and_restart_every_call(cls, order):
    alphas, coefficients = ORDERS[order]
    alpha = alphas[0] if len(alphas) == 1 else alphas
    node = fn.fractional(cls)(alpha=alpha, coefficients=coefficients)
    x = drive()
    increment = lif_increment(2.0, 0.0) if cls is neuron.NonSpikingLIFNode else if_increment
    want, _ = reference(x, increment, 0.0, alphas, coefficients, spiking=False)
    got = torch.stack(node(x))
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.stack(node(x)), want, rtol=0, atol=1e-12)  # no reset needed


def test_window_memory_matches_the_truncated_reference():
    x = drive()
    node = fn.fractionalize(neuron.LIFNode(step_mode="m").double(), 0.6, memory="window", memory_options={"window": 4})
    want, _ = reference(x, lif_increment(2.0, 0.0), 0.0, [0.6], window=4)
    assert torch.equal(node(x), want)


def test_single_and_multi_step_modes_are_identical():
    x = drive(torch.float32)
    for case in ("lif_soft", "plif", "simple_lif", "user_base_charge"):
        single, multi = fractional_node(case, "multi", "s").float(), fractional_node(case, "multi", "m").float()
        assert torch.equal(run(single, x), run(multi, x))
        assert torch.equal(single.v, multi.v)


# -------------------------------------------------------------------- SpikingJelly behaviour
def test_reset_net_clears_the_history_even_after_a_cached_reset(conv_snn, images):
    net = conv_snn()
    functional.reset_net(net)  # SpikingJelly caches the resettable modules of net now
    fn.fractionalize(net, alpha=0.5)
    x = images()
    first = net(x)
    assert net[1].memory.steps == 6
    functional.reset_net(net)
    assert net[1].memory.steps == 0 and net[3][0].memory.steps == 0
    assert torch.equal(net(x), first)


@pytest.mark.parametrize("case", ["lif_hard", "simple_lif"])
@pytest.mark.parametrize("mode", ["s", "m"])
def test_batch_size_change_needs_a_reset(case, mode):
    node = fractional_node(case, "0.7", mode)
    run(node, drive(batch=3))
    with pytest.raises(StateShapeError, match="reset_net"):
        run(node, drive(batch=5))
    functional.reset_net(node)
    assert run(node, drive(batch=5)).shape == (T, 5, N)


def test_detach_net_gives_truncated_bptt():
    x1, x2 = drive(torch.float32, seed=1), drive(torch.float32, seed=2).requires_grad_()
    node = fn.fractional(neuron.LIFNode)(step_mode="m", alpha=0.6, learn_alpha=True)
    node(x1)
    functional.detach_net(node)
    node(x2).sum().backward()
    truncated = x2.grad.clone(), node.memory.order.alpha_param.grad.clone()

    x2.grad = None
    by_hand = fn.fractional(neuron.LIFNode)(step_mode="m", alpha=0.6, learn_alpha=True)
    with torch.no_grad():
        by_hand(x1)
    by_hand(x2).sum().backward()
    assert torch.equal(x2.grad, truncated[0])
    assert torch.equal(by_hand.memory.order.alpha_param.grad, truncated[1])
    assert truncated[1].abs().sum() > 0


def test_store_v_seq_in_both_modes():
    x = drive()
    multi = fractional_node("lif_soft", "0.3", "m", store_v_seq=True)
    single = fractional_node("lif_soft", "0.3", "s", store_v_seq=True)
    run(multi, x), run(single, x)
    assert multi.v_seq.shape == (T, B, N)
    assert torch.equal(multi.v_seq, single.v_seq) and torch.equal(multi.v_seq[-1], multi.v)


def test_chunked_multi_step_forward_equals_one_call(conv_snn, images):
    net = conv_snn()
    fn.fractionalize(net, alpha=[0.4, 0.9], coefficients=[1.0, 0.3])
    net.eval()
    x = images(steps=11)
    whole = net[:4](x)
    functional.reset_net(net)
    chunked = functional.chunk_multi_step_forward(4, x, net[:4])
    assert fires_and_rests(whole) and torch.equal(chunked, whole)


def test_to_dtype_moves_the_history_mid_sequence():
    x = drive(torch.float64)
    node = fn.fractional(neuron.LIFNode)(step_mode="m", alpha=0.6, store_v_seq=True)
    reference_run = copy.deepcopy(node).double()
    reference_run(x)
    node(x[:10].float())
    node.double()
    assert node.memory.engine.state_values().dtype == torch.float64
    assert node.memory.order.alphas().dtype == torch.float64
    node(x[10:])
    torch.testing.assert_close(node.v, reference_run.v, rtol=0, atol=1e-5)
    node.float()  # α stays exactly 0.6 through a float32 round trip
    assert node.memory.alpha.item() == 0.6 and node.memory.alpha.dtype == torch.float64


def test_pickle_deepcopy_and_torch_save_round_trip(conv_snn):
    FracLIF = fn.fractional(neuron.LIFNode)
    assert fn.fractional(neuron.LIFNode) is FracLIF and fn.fractional(FracLIF) is FracLIF
    assert pickle.loads(pickle.dumps(FracLIF)) is FracLIF
    user = pickle.loads(pickle.dumps(fn.fractional(QuadraticNode)(alpha=0.5)))  # a user class's node
    assert type(user) is fn.fractional(QuadraticNode) and user.memory.alpha.item() == 0.5
    node = FracLIF(step_mode="m", alpha=0.5)
    x = drive(torch.float32)
    node(x[:10])
    for clone in (pickle.loads(pickle.dumps(node)), copy.deepcopy(node)):
        assert type(clone) is FracLIF and clone.memory.steps == 10
        assert torch.equal(clone(x[10:]), copy.deepcopy(node)(x[10:]))
    net = fn.fractionalize(conv_snn(), alpha=0.5)
    buffer = io.BytesIO()
    torch.save(net, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded[1]).__name__ == "FractionalLIFNode" and loaded[1].memory.alpha.item() == 0.5


# ------------------------------------------------------- explicit state (functional forward)
PURE_CASES = {
    "if": (neuron.IFNode, dict(v_reset=None)),
    "lif": (neuron.LIFNode, dict(tau=2.5, decay_input=False)),
    "plif": (neuron.ParametricLIFNode, dict(init_tau=2.5, v_reset=None)),
}


PURE_MEMORIES = {"exact": dict(memory="exact"), "soe": dict(memory="soe", memory_options=dict(block=4, exact_lags=3, horizon=500))}


def _state_snapshot(states):
    """Comparable values of a states tuple (v, FractionalState or None)."""
    v, frac = states
    return v.detach().clone(), None if frac is None else (frac.steps, frac.engine.state_values().clone())


@pytest.mark.parametrize("memory", sorted(PURE_MEMORIES))
@pytest.mark.parametrize("mode", ["s", "m"])
@pytest.mark.parametrize("case", sorted(PURE_CASES))
def test_functional_forward_is_pure_and_backs_the_regular_forward(case, mode, memory):
    """Issue 11 item 2: the history travels in the explicit states, the module untouched; the
    regular forward from the same states gives the same outputs and states."""
    cls, kwargs = PURE_CASES[case]
    node = fn.fractional(cls)(**kwargs, alpha=[0.4, 0.8], coefficients=[1.0, 0.5], step_mode=mode, **PURE_MEMORIES[memory]).double()
    x = drive(steps=9)
    for start in ("fresh", "mid-sequence"):
        if start == "mid-sequence":
            node(drive(steps=5, seed=3) if mode == "m" else drive(steps=5, seed=3)[0])
        before = tuple(node._memories.values())
        assert tuple(node._memories) == ("v", "frac_state")
        kept = _state_snapshot(before) if start == "mid-sequence" else None
        xs = x if mode == "m" else x[0]
        v_in = torch.randn(B, N, dtype=torch.float64, requires_grad=True) if start == "fresh" else before[0]
        states = (v_in, before[1])
        outputs, updated = node.functional_forward((xs,), states)
        again, _ = node.functional_forward((xs,), states)  # the same states give the same result
        assert torch.equal(outputs[0], again[0])
        assert all(a is b for a, b in zip(node._memories.values(), before))  # the module untouched
        if kept is not None:  # ... and the given state too
            now = _state_snapshot(states)
            assert torch.equal(now[0], kept[0]) and now[1][0] == kept[1][0] and torch.equal(now[1][1], kept[1][1])
        if start == "fresh":
            node.v = v_in
        spikes = node(xs)
        assert torch.equal(spikes, outputs[0])
        for actual, expected in zip(node._memories.values(), updated):
            assert torch.allclose(actual, expected, rtol=0, atol=1e-12)
        if start == "fresh":
            (outputs[0].sum() + updated[0].sum()).backward()
            assert v_in.grad is not None and v_in.grad.abs().sum() > 0
        node.reset()


def test_saved_states_stay_what_they_were_while_the_node_steps_on():
    """extract_memories / load_memories (SpikingJelly's snapshot tools, used by memopt) restore
    a fractional node exactly: its own steps never change a state object it handed out."""
    from spikingjelly.activation_based import base

    node = fn.fractional(neuron.LIFNode)(tau=2.0, alpha=0.6, step_mode="s").double()
    x = drive(steps=15)
    for t in range(5):
        node(x[t])
    saved = list(base.extract_memories(node))
    first = torch.stack([node(x[t]) for t in range(5, 15)])
    base.load_memories(node, saved)
    second = torch.stack([node(x[t]) for t in range(5, 15)])
    assert torch.equal(first, second) and node.memory.steps == 15


def test_spikingjelly_state_tools_carry_the_history():
    """to_functional_forward over a Sequential, and memopt's checkpointing in time chunks, give
    the regular forward's outputs and gradients (α's included)."""
    from spikingjelly.activation_based import base, memopt

    torch.manual_seed(4)
    net = nn.Sequential(layer.Linear(N, 7), neuron.LIFNode(tau=2.0), layer.Linear(7, 3), neuron.LIFNode(tau=2.0))
    functional.set_step_mode(net, "m")
    fn.fractionalize(net, alpha=0.6, learn_alpha=True)
    net.double()
    reference = copy.deepcopy(net)
    x = 3 * drive(steps=12)
    want = reference(x)
    want.sum().backward()

    step = base.to_functional_forward(net)
    states = tuple(base.extract_memories(net))
    (got,), updated = step((x,), states)
    assert torch.equal(got, want) and all(s is None or isinstance(s, torch.Tensor) or s.steps == 12 for s in updated)

    wrapped = memopt.checkpoint_module(net, chunks=3)
    got = wrapped(x)
    got.sum().backward()
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    for p, q in zip(net.parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12)


def test_alpha_one_keeps_the_native_state_layout():
    node = fn.fractional(neuron.LIFNode)(alpha=1.0)
    assert tuple(node._memories) == ("v",)
    node.memory.order.set_alpha(0.5)
    node.reset()  # a new order: the next sequence carries its fractional state
    assert tuple(node._memories) == ("v", "frac_state")


def test_integer_input_in_multi_step_mode_works_as_natively():
    """Issue 11 item 5: SpikingJelly materializes v in the input's dtype; an int64 input in 'm'
    mode runs like its float values."""
    x = torch.randint(0, 3, (6, B, N))
    for cls in (neuron.LIFNode, neuron.IFNode):
        frac = fn.fractional(cls)(alpha=0.6, step_mode="m")
        ref = fn.fractional(cls)(alpha=0.6, step_mode="m")
        assert torch.equal(frac(x), ref(x.float())) and torch.equal(frac.v, ref.v)
        native = cls(step_mode="m")  # SpikingJelly's own node takes the same input: same dtypes out
        native_spikes = native(x)
        assert frac(x).dtype == native_spikes.dtype and frac.v.dtype == native.v.dtype


def test_an_empty_sequence_gives_empty_spikes_and_leaves_the_state():
    """Issue 11 item 11: T = 0 in 'm' mode."""
    for cls, kwargs in ((neuron.LIFNode, {}), (neuron.SimpleLIFNode, dict(tau=2.0, decay_input=True))):
        node = fn.fractional(cls)(**kwargs, alpha=0.6, step_mode="m")
        node(drive(steps=3).float())
        v, steps = node.v, node.memory.steps
        out = node(torch.zeros(0, B, N))
        assert out.shape == (0, B, N) and node.v is v and node.memory.steps == steps
    readout = fn.fractional(neuron.NonSpikingLIFNode)(alpha=0.6)
    with pytest.raises(ValueError, match="needs T >= 1"):
        readout(torch.zeros(0, B, N))


def test_forgetting_reset_net_between_batches_is_warned_once():
    """Issue 11 item 13: a multi-step call continuing a history 50 times its length."""
    node = fn.fractional(neuron.LIFNode)(alpha=0.6, step_mode="m")
    batch = drive(steps=4).float()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(50):
            node(batch)
    with pytest.warns(RuntimeWarning, match="reset_net"):
        node(batch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        node(batch)  # once
        functional.reset_net(node)
        for _ in range(20):
            node(batch)
            functional.detach_net(node)  # truncated BPTT over one long sequence: no warning


# -------------------------------------------------------------------------- learnable α
def teacher_and_student(teacher_alpha, student_alpha, **student):
    kwargs = dict(tau=2.0, v_threshold=1e6, step_mode="m", store_v_seq=True)  # no spikes: smooth
    teacher = fn.fractional(neuron.LIFNode)(**kwargs, alpha=teacher_alpha)
    return teacher, fn.fractional(neuron.LIFNode)(**kwargs, alpha=student_alpha, learn_alpha=True, **student)


def fit(teacher, student, steps, lr):
    x = drive(torch.float32, steps=16, batch=4, seed=3)
    teacher(x)
    target = teacher.v_seq.detach()
    student(x)  # materialises a per-neuron α before the optimizer sees it
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        functional.reset_net(student)
        student(x)
        loss = (student.v_seq - target).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        assert student.memory.order.alpha_param.grad.abs().sum() > 0
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_learnable_alpha_per_layer_trains():
    teacher, student = teacher_and_student(0.5, 0.9)
    losses = fit(teacher, student, steps=40, lr=0.03)
    assert losses[-1] < 0.01 * losses[0]
    assert abs(student.memory.alpha.item() - 0.5) < 0.05


def test_learnable_alpha_per_neuron_trains_and_stays_in_range():
    teacher, student = teacher_and_student(torch.tensor([0.3, 0.5, 0.7, 0.9, 1.0]), 0.8, per_neuron=True)
    losses = fit(teacher, student, steps=60, lr=0.05)
    alpha = student.memory.alpha
    assert alpha.shape == (N,) and losses[-1] < 0.05 * losses[0]
    assert (alpha[:4] - torch.tensor([0.3, 0.5, 0.7, 0.9], dtype=alpha.dtype)).abs().max() < 0.1
    assert ((alpha > 0) & (alpha <= 1)).all() and alpha[4] > 0.95


def test_per_neuron_alpha_in_a_conv_model_trains_saves_and_loads(conv_snn, images):
    net = fn.fractionalize(conv_snn(), alpha=0.7, per_neuron=True, learn_alpha=True)
    net(images()).sum().backward()  # the first step gives every α its shape
    assert net[1].memory.alpha.shape == (4, 4, 4) and net[3][0].memory.alpha.shape == (6,)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    optimizer.step()
    assert not torch.equal(net[1].memory.alpha, torch.full((4, 4, 4), 0.7, dtype=torch.float64))
    fresh = fn.fractionalize(conv_snn(), alpha=0.7, per_neuron=True, learn_alpha=True)
    fresh.load_state_dict(net.state_dict())
    assert torch.equal(fresh[1].memory.alpha, net[1].memory.alpha)


def test_gradcheck_through_a_fractional_node_including_alpha():
    node = fn.fractional(neuron.LIFNode)(
        tau=2.0, v_threshold=1e6, step_mode="m", store_v_seq=True, alpha=0.6, learn_alpha=True
    ).double()

    def potentials(x, alpha):
        node.reset()
        torch.func.functional_call(node, {"memory.order.alpha_param": alpha}, (x,))
        return node.v_seq

    x = torch.randn(6, 2, 3, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor([0.6], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(potentials, (x, alpha))


def test_every_node_reports_its_multi_step_path():
    """repr and ``node.multi_step_path`` say how a new 'm' sequence runs: a charge we cannot see
    is always stepped, IF/LIF/PLIF fuse, a fixed α = 1 is the native node."""
    assert fn.fractional(neuron.LIFNode)(alpha=0.6, step_mode="m").multi_step_path == "fused"
    simple = fn.fractional(neuron.SimpleLIFNode)(tau=2.0, decay_input=True, alpha=0.6, step_mode="m")
    readout = fn.fractional(neuron.NonSpikingLIFNode)(alpha=0.6)
    native = fn.fractional(neuron.SimpleIFNode)(alpha=1.0)
    assert (simple.multi_step_path, readout.multi_step_path, native.multi_step_path) == ("stepped", "stepped", "native")
    assert "step_mode=m, multi_step_path=stepped" in repr(simple)
    assert "\n  multi_step_path=stepped\n" in repr(readout)
