"""The native neurons' fused multi-step path (the generic sequence kernel) against stepping.

Every case runs a neuron in 'm' mode on the fused path and a copy with ``fused_multi_step=False``
(every operation of every step recorded by autograd): spikes and membrane equal bit for bit,
gradients (input, learned τ, α per layer / per neuron / multi-term with its coefficients) within
1e-12 relative in float64.
"""

from __future__ import annotations

import copy
import itertools
import warnings

import pytest
import torch

from fracneuron.memory import FractionalMemory
from fracneuron.neuron import ALIFNeuron, BaseNeuron, IFNeuron, LIFNeuron
from fracneuron.neuron.fused import can_fuse
from fracneuron.solvers.steppers import use_method

T, SHAPE = 24, (3, 5)

ALPHAS = {
    "fixed": dict(alpha=0.6),
    "learned": dict(alpha=0.7, learn_alpha=True),
    "learned_per_neuron": dict(alpha=0.65, learn_alpha=True, per_neuron=True),
    "multi_term_learned": dict(alpha=[0.5, 0.8], coefficients=[1.0, 0.5], learn_alpha=True, learn_coefficients=True),
}
MEMORIES = {"exact": dict(memory="exact"), "window": dict(memory="window", memory_options={"window": 6}), "soe": dict(memory="soe")}
RESETS = {
    "soft": dict(spk_reset="soft"),
    "hard": dict(spk_reset="hard", v_reset=-0.1),
    "soft_detached": dict(spk_reset="soft", detach_reset=True),
    "hard_detached": dict(spk_reset="hard", v_reset=0.2, detach_reset=True),
}


def pair(cls=LIFNeuron, alpha="fixed", memory="exact", dtype=torch.float64, **options):
    """A neuron on the fused path and a copy that steps (``fused_multi_step=False``)."""
    options = dict(dict(tau=2.0, surrogate_opt="sigmoid"), **options)
    fused = cls(step_mode="m", **ALPHAS[alpha], **MEMORIES[memory], **options).to(dtype)
    stepped = copy.deepcopy(fused)
    stepped.fused_multi_step = False
    return fused, stepped


def drive(steps=T, dtype=torch.float64, seed=0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (1.2 + 1.0 * torch.randn(steps, *SHAPE, generator=generator, dtype=torch.float64)).to(dtype).requires_grad_()


def loss_of(spikes: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    weights = torch.linspace(0.5, 1.5, spikes[0].numel(), dtype=spikes.dtype).reshape(spikes.shape[1:])
    return (spikes * weights).sum() + v.square().sum()


def grads(neuron, x, loss) -> dict:
    named = {name: p for name, p in neuron.named_parameters() if p.requires_grad}
    values = torch.autograd.grad(loss, [x, *named.values()])
    return dict(zip(["x", *named], values))


def assert_close_rel(got: dict, want: dict, rel: float) -> None:
    assert got.keys() == want.keys()
    for name in want:
        scale = want[name].abs().max().clamp_min(1e-300)
        assert ((got[name] - want[name]).abs().max() / scale).item() <= rel, name


def run_both(fused, stepped, x):
    results = []
    for neuron in (fused, stepped):
        assert can_fuse(neuron, x, BaseNeuron) == (neuron is fused)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            spikes = neuron(x)
        results.append((spikes, neuron.v, grads(neuron, x, loss_of(spikes, neuron.v))))
    return results


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("tau_learnable", [False, True])
@pytest.mark.parametrize("reset", RESETS)
@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("memory", MEMORIES)
@pytest.mark.parametrize("cls", [LIFNeuron, IFNeuron])
def test_fused_equals_stepped(cls, memory, alpha, reset, tau_learnable, dtype):
    fused, stepped = pair(cls, alpha, memory, dtype, tau_learnable=tau_learnable, **RESETS[reset])
    x = drive(dtype=dtype)
    (s1, v1, g1), (s2, v2, g2) = run_both(fused, stepped, x)
    assert s2.sum() > 0 and (s2 == 0).any()  # the resets are exercised
    assert torch.equal(s1, s2) and torch.equal(v1, v2)  # the very operations of the stepped neuron
    expected = {"x"} | ({"tau_param"} if tau_learnable else set())
    assert expected <= g2.keys() and (alpha == "fixed") == (g2.keys() == expected)
    assert_close_rel(g1, g2, 1e-12 if dtype == torch.float64 else 2e-5)
    assert torch.equal(fused.memory.state, stepped.memory.state)  # the running past, too


@pytest.mark.parametrize("steps", [50, 100])
@pytest.mark.parametrize("alpha", ["fixed", "learned", "learned_per_neuron"])
@pytest.mark.parametrize("memory", ["exact", "window", "soe"])
def test_longer_sequences(memory, alpha, steps):
    """Past the soe kernel's exact lags (its exponential tail in a short adjoint), past the
    short-sequence adjoint (the kernel run backward in time), and past a window: the exact
    kernel's weight gradient sums the pairs at each lag at any length (per neuron element-wise,
    by blocks of rows), only the lags a window keeps."""
    fused, stepped = pair(LIFNeuron, alpha, memory, tau_learnable=True, spk_reset="hard")
    x = drive(steps=steps)
    (s1, v1, g1), (s2, v2, g2) = run_both(fused, stepped, x)
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    assert_close_rel(g1, g2, 1e-12)


@pytest.mark.parametrize("alpha", ["learned", "learned_per_neuron"])
@pytest.mark.parametrize("memory", ["exact", "soe"])
def test_long_learned_sequence_from_a_nonzero_membrane(memory, alpha):
    """The membrane starts at v_reset = 0.2, so u = V − V_0 ≠ V in the weights' gradient (the
    states soe's backward recovers from H and S, the exact engine's store), past soe's exact lags
    and several blocks."""
    fused, stepped = pair(LIFNeuron, alpha, memory, tau_learnable=True, spk_reset="hard", v_reset=0.2)
    x = drive(steps=100)
    (s1, v1, g1), (s2, v2, g2) = run_both(fused, stepped, x)
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    assert_close_rel(g1, g2, 1e-12)


@pytest.mark.parametrize("reset", ["soft", "soft_detached", "hard"])
@pytest.mark.parametrize("alpha", ["fixed", "learned", "learned_per_neuron", "multi_term_learned"])
def test_a_soft_reset_over_an_exact_store_keeps_no_pre_spike_potentials(alpha, reset):
    """A soft reset's H − θ follows bit for bit from V_{n+1} and S_n, and the exact store (a
    kernel per layer or per neuron, a new sequence from +0) holds the states: the node keeps V_T, not H
    ``[T, ...]``; the gradients stay the stepped ones, τ's (which reads the states) included."""
    fused, stepped = pair(LIFNeuron, alpha, "exact", tau_learnable=True, **RESETS[reset])
    x = drive(steps=100)
    (s1, v1, g1), (s2, v2, g2) = run_both(fused, stepped, x)
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    assert_close_rel(g1, g2, 1e-12)
    fused.reset()
    kept = fused(x).grad_fn.saved_tensors[2]
    recovered = reset != "hard"
    assert kept.shape == (x.shape[1:] if recovered else x.shape)


@pytest.mark.parametrize("cls", [LIFNeuron, IFNeuron])
def test_fused_step_size_and_surrogates(cls):
    """Off the unit grid (s = h^{α−1} ≠ 1, α learned: ∂s/∂α) and with other spike functions."""
    for surrogate, alpha in itertools.product(("arctan", "fast_sigmoid", "triangle"), ("fixed", "learned_per_neuron")):
        fused, stepped = pair(cls, alpha, "exact", step_size=0.5, surrogate_opt=surrogate, tau_learnable=True)
        x = drive()
        (s1, v1, g1), (s2, v2, g2) = run_both(fused, stepped, x)
        assert torch.equal(s1, s2) and torch.equal(v1, v2)
        assert_close_rel(g1, g2, 1e-12)


@pytest.mark.parametrize("memory", ["exact", "soe"])
@pytest.mark.parametrize("alpha", ["learned", "learned_per_neuron", "multi_term_learned"])
def test_gradcheck_input_tau_alpha(memory, alpha):
    """float64 gradcheck of the hand-written backward w.r.t. the input, τ and α (and the
    coefficients). No threshold crossing: the surrogate is not the derivative of the Heaviside, so
    only the reset-free dynamics can be checked by differences (the resets: the tests above)."""
    neuron = LIFNeuron(tau=2.0, threshold=1e9, tau_learnable=True, step_mode="m", **ALPHAS[alpha], **MEMORIES[memory]).double()
    x = drive(steps=9)
    neuron(x.detach())  # materializes a per-neuron α
    names = [name for name, p in neuron.named_parameters() if p.requires_grad]
    assert "tau_param" in names and any("alpha" in name for name in names)

    def run(x, *params):
        neuron.reset()
        assert can_fuse(neuron, x, BaseNeuron)
        torch.func.functional_call(neuron, dict(zip(names, params)), (x,))
        return neuron.v

    params = [p.detach().clone().requires_grad_() for p in neuron.parameters() if p.requires_grad]
    assert torch.autograd.gradcheck(run, (x, *params), eps=1e-6, atol=1e-7, rtol=1e-6)


def test_alpha_one_is_the_native_step():
    """α = 1: no fused path, no memory; the step is the plain one, bit for bit and gradient for gradient."""
    neuron = LIFNeuron(tau=2.0, alpha=1.0, step_mode="m").double()
    reference = copy.deepcopy(neuron)
    reference.fused_multi_step = False
    x = drive()
    assert not can_fuse(neuron, x, BaseNeuron)
    s1, s2 = neuron(x), reference(x)
    assert torch.equal(s1, s2) and torch.equal(neuron.v, reference.v)
    g1, g2 = grads(neuron, x, loss_of(s1, neuron.v)), grads(reference, x, loss_of(s2, reference.v))
    assert torch.equal(g1["x"], g2["x"])
    # the native Euler neuron: H = v + (x − v)/τ, soft reset
    v, spikes = torch.zeros_like(x[0]), []
    with torch.no_grad():
        for x_t in x:
            H = v + (x_t - v) / 2.0
            spikes.append((H >= 1.0).to(H.dtype))
            v = H - spikes[-1]
    assert torch.equal(torch.stack(spikes), s1) and torch.equal(v, neuron.v)


def test_fused_only_where_it_applies():
    x = torch.randn(8, 2, 3)
    for memory, alpha in itertools.product(MEMORIES, ALPHAS):
        assert can_fuse(LIFNeuron(step_mode="m", **MEMORIES[memory], **ALPHAS[alpha]), x, BaseNeuron)
    assert can_fuse(IFNeuron(alpha=0.5, step_mode="m", tau_learnable=True), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=1.0, step_mode="m"), x, BaseNeuron)
    assert not can_fuse(ALIFNeuron(alpha=0.5, step_mode="m"), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, step_mode="m", refractory=2), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, step_mode="m", trace_tau=3.0), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, step_mode="m", fused_multi_step=False), x, BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, step_mode="m"), x.long(), BaseNeuron)
    assert not can_fuse(LIFNeuron(alpha=0.5, step_mode="m"), x[:0], BaseNeuron)
    # an engine without an adjoint (a third-party one) is stepped
    memory = FractionalMemory(alpha=0.5)
    memory.state.engine.adjoint = lambda: None
    neuron = LIFNeuron(alpha=0.5, step_mode="m")
    neuron.memory = memory
    assert not can_fuse(neuron, x, BaseNeuron)


@pytest.mark.parametrize("method", ["l1", "pred", "abm", "trap"])
def test_other_schemes_are_stepped(method):
    """SNNWrapper's other schemes charge with their own history: never the fused (GL) path."""
    fused, stepped = pair(LIFNeuron, "fixed", "exact")
    for neuron in (fused, stepped):
        use_method(neuron.memory, method)
    x = drive()
    assert not can_fuse(fused, x, BaseNeuron)
    s1, s2 = fused(x), stepped(x)
    assert torch.equal(s1, s2) and torch.equal(fused.v, stepped.v)
    use_method(fused.memory, "gl")
    assert can_fuse(fused, x, BaseNeuron)


@pytest.mark.parametrize("memory", ["exact", "soe", "window"])
@pytest.mark.parametrize("alpha", ["fixed", "learned_per_neuron"])
@pytest.mark.parametrize("detach", [True, False])
def test_chunks_equal_one_stepped_sequence(memory, alpha, detach):
    """TBPTT with ``detach()`` between chunks, and chunks without it (the memory's gradient
    reaches the earlier chunks through their links), equal the stepped path, with no warning."""
    results = []
    for neuron in pair(LIFNeuron, alpha, memory, tau_learnable=True, spk_reset="hard"):
        x = drive(seed=3)
        outputs = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for chunk in x.split([7, 11, 6]):
                assert can_fuse(neuron, chunk, BaseNeuron) == neuron.fused_multi_step
                outputs.append(neuron(chunk))
                if detach:
                    neuron.detach()
        spikes = torch.cat(outputs)
        results.append((spikes, grads(neuron, x, loss_of(spikes, neuron.v))))
    (s1, g1), (s2, g2) = results
    assert torch.equal(s1, s2)
    assert g2["x"][:7].abs().sum() > 0
    assert_close_rel(g1, g2, 1e-12)


@pytest.mark.parametrize("memory", ["exact", "soe", "window"])
def test_state_continues_stepwise(memory):
    """After a fused call the module holds the stepped neuron's state (v, the memory's past):
    single steps continue it exactly as stepping does."""
    fused, stepped = pair(LIFNeuron, "learned_per_neuron", memory)
    x = drive(steps=40).detach()
    with torch.no_grad():
        head = fused(x[:30])
        reference_head = stepped(x[:30])
        assert torch.equal(fused.memory.state, stepped.memory.state) and torch.equal(fused.v, stepped.v)
        fused.step_mode = stepped.step_mode = "s"
        tail = torch.stack([fused(x_t) for x_t in x[30:]])
        reference_tail = torch.stack([stepped(x_t) for x_t in x[30:]])
    assert torch.equal(torch.cat([head, tail]), torch.cat([reference_head, reference_tail]))
    assert torch.equal(fused.v, stepped.v) and fused.memory.steps == stepped.memory.steps == 40


@pytest.mark.parametrize("memory", ["exact", "soe"])
def test_after_recorded_single_steps(memory):
    """'s' steps that recorded a graph, then an 'm' call: it steps (the past carries a graph) and
    equals stepping in values and gradients; after ``detach()`` it fuses again."""
    results = []
    for neuron in pair(LIFNeuron, "learned", memory, tau_learnable=True):
        x = drive(seed=4)
        neuron.step_mode = "s"
        head = [neuron(x_t) for x_t in x[:3]]
        assert neuron.memory.engine.has_graph
        neuron.step_mode = "m"
        assert not can_fuse(neuron, x[3:], BaseNeuron)
        spikes = torch.cat([torch.stack(head), neuron(x[3:])])
        results.append((spikes, neuron.v, grads(neuron, x, loss_of(spikes, neuron.v))))
        neuron.detach()
        assert can_fuse(neuron, x, BaseNeuron) == neuron.fused_multi_step
    (s1, v1, g1), (s2, v2, g2) = results
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    assert_close_rel(g1, g2, 1e-12)


def test_one_recorded_step_then_fused():
    """After one recorded 's' step with a fixed α the past is u_0 = 0, a constant: the 'm' call
    fuses, and the gradient reaches the first step through v_1."""
    results = []
    for neuron in pair(LIFNeuron, "fixed", "exact", tau_learnable=True):
        x = drive(seed=6)
        neuron.step_mode = "s"
        first = neuron(x[0])
        neuron.step_mode = "m"
        assert can_fuse(neuron, x[1:], BaseNeuron) == neuron.fused_multi_step
        spikes = torch.cat([first.unsqueeze(0), neuron(x[1:])])
        results.append((spikes, neuron.v, grads(neuron, x, loss_of(spikes, neuron.v))))
    (s1, v1, g1), (s2, v2, g2) = results
    assert torch.equal(s1, s2) and torch.equal(v1, v2)
    assert_close_rel(g1, g2, 1e-12)


@pytest.mark.parametrize("memory", ["exact", "soe"])
@pytest.mark.parametrize("alpha", ["fixed", "learned"])
def test_graph_free_stretch_between_fused_calls(memory, alpha):
    """A stretch run under ``no_grad`` (a fused call and single steps) between two recorded fused
    calls: the later call's memory gradient still reaches the first call, as when stepping."""
    results = []
    for neuron in pair(LIFNeuron, alpha, memory):
        x = drive(seed=7)
        first = neuron(x[:8])
        with torch.no_grad():
            neuron.step_mode = "s"
            [neuron(x_t) for x_t in x[8:11]]
            neuron.step_mode = "m"
            neuron(x[11:14])
            neuron.step_mode = "s"
            [neuron(x_t) for x_t in x[14:16]]
            neuron.step_mode = "m"
        last = neuron(x[16:])
        loss = 0.0 * first.sum() + (last * torch.linspace(0, 1, SHAPE[-1], dtype=last.dtype)).sum() + neuron.v.square().sum()
        results.append((last, grads(neuron, x, loss)))
    (s1, g1), (s2, g2) = results
    assert torch.equal(s1, s2)
    assert g2["x"][:8].abs().sum() > 0  # only the memory carries it: the stretch has no graph
    assert_close_rel(g1, g2, 1e-12)


def test_recorded_single_step_after_a_fused_call_warns():
    """A recorded 's' step continuing a fused call without detach(): the values continue exactly,
    and the user is told that the memory's gradient into the fused call is cut."""
    fused, stepped = pair(LIFNeuron, "fixed", "soe")
    x = drive(seed=8)
    outputs = []
    for neuron in (fused, stepped):
        head = neuron(x[:10])
        neuron.step_mode = "s"
        if neuron is fused:
            with pytest.warns(RuntimeWarning, match="gradient through the fractional memory into that call is cut"):
                tail = neuron(x[10])
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # once
                neuron(x[11])
        else:
            tail = neuron(x[10])
            neuron(x[11])
        outputs.append((head, tail, neuron.v))
    for a, b in zip(*outputs):
        assert torch.equal(a, b)



@pytest.mark.parametrize("memory", ["exact", "soe"])
def test_initial_potential_with_a_graph(memory):
    """``neuron.v`` set by the user with a graph before the first step: it is the anchor of the
    history too; its gradient (and x's, α's, τ's) equal stepping's."""
    results = []
    v0 = (0.3 * torch.randn(SHAPE, generator=torch.Generator().manual_seed(9), dtype=torch.float64)).requires_grad_()
    for neuron in pair(LIFNeuron, "learned", memory, tau_learnable=True, spk_reset="hard", v_reset=0.1):
        x = drive(seed=9)
        neuron.v = v0 * 1.0
        assert can_fuse(neuron, x, BaseNeuron) == neuron.fused_multi_step
        spikes = neuron(x)
        named = {name: p for name, p in neuron.named_parameters() if p.requires_grad}
        values = torch.autograd.grad(loss_of(spikes, neuron.v), [x, v0, *named.values()])
        results.append((spikes, dict(zip(["x", "v0", *named], values))))
    (s1, g1), (s2, g2) = results
    assert torch.equal(s1, s2) and g2["v0"].abs().sum() > 0
    assert_close_rel(g1, g2, 1e-12)
