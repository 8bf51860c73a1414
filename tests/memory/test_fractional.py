"""fracneuron.memory.fractional: FractionalMemory over the exact and window engines against the
direct reference (tests/reference.py), gradcheck (inputs and α), truncated BPTT, shapes, dtypes.
The analytic solutions are in test_exact.py."""

import pytest
import torch

import fracneuron as fn
from fracneuron.functional import per_neuron
from fracneuron.memory import StateShapeError

import reference


F64 = torch.float64


def direct_reference(x, f, alpha, coefficients=None, window=None, v0=0.0):
    """DESIGN.md's formula written out (tests/reference.py): H_n = v0 + s Δ_n − Σ_{k=1..n} w̃_k (v_{n−k} − v0)."""
    return torch.stack(reference.gl_run(x, lambda xn, v: f(v, xn), alpha, coefficients, v0=v0, window=window))


def run_engine(x, f, alpha, memory="exact", v0=0.0, **kw):
    mem = fn.FractionalMemory(alpha, memory, **kw)
    v = torch.full_like(x[0], v0)
    out = []
    for t in range(x.shape[0]):
        v = mem.step(v, f(v, x[t]))  # v(0) = v0 anchors the history
        out.append(v)
    return torch.stack(out)


def drive(v, x):
    return -0.4 * v + x + 0.3 * torch.sin(v)


@pytest.mark.parametrize(
    "alpha, coefficients, memory, options",
    [
        (0.3, None, "exact", None),
        (0.7, None, "exact", None),
        ([0.3, 0.8], [1.0, 0.5], "exact", None),
        (0.5, None, "window", {"window": 9}),
    ],
)
def test_engines_match_the_direct_formula(alpha, coefficients, memory, options):
    torch.manual_seed(0)
    x = torch.randn(75, 4, 3, dtype=F64)  # crosses several 16-step blocks and a buffer growth
    got = run_engine(x, drive, alpha, memory, v0=0.2, coefficients=coefficients, memory_options=options)
    window = options["window"] if options else None
    ref = direct_reference(x, drive, alpha, coefficients, window=window, v0=0.2)
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("chunk", [1 << 20, 12])
def test_per_neuron_alpha_matches_the_direct_formula_neuron_by_neuron(chunk, monkeypatch):
    # chunk = 12: the element-wise history sum adds two [2, 3] rows at a time
    monkeypatch.setattr(per_neuron, "CHUNK_ELEMENTS", chunk)
    torch.manual_seed(1)
    alphas = torch.tensor([0.3, 0.6, 0.95], dtype=F64)
    x = torch.randn(40, 2, 3, dtype=F64)
    got = run_engine(x, drive, alphas)
    for i, a in enumerate(alphas.tolist()):
        ref = direct_reference(x[..., i : i + 1], drive, a)
        torch.testing.assert_close(got[..., i : i + 1], ref, rtol=0, atol=1e-12)


def test_window_equals_exact_when_the_window_covers_the_sequence():
    torch.manual_seed(2)
    x = torch.randn(30, 3, dtype=F64)
    exact = run_engine(x, drive, 0.6)
    window = run_engine(x, drive, 0.6, "window", memory_options={"window": 30})
    torch.testing.assert_close(window, exact, rtol=0, atol=1e-13)


def make_gradcheck_fn(T, memory="exact", options=None, per_neuron=False, multi=False):
    def f(x, alpha_values):
        mem = fn.FractionalMemory([0.5, 0.5] if multi else 0.5, memory, learn_alpha=True, per_neuron=per_neuron, memory_options=options)
        if per_neuron:
            mem.order.materialize(x.shape[2:])
        del mem.order.alpha_param  # substitute the gradcheck input for the parameter
        mem.order.alpha_param = alpha_values
        v = torch.zeros_like(x[0])
        out = []
        for t in range(T):
            v = mem.step(v, drive(v, x[t]))
            out.append(v)
        return torch.stack(out)

    return f


@pytest.mark.parametrize(
    "T, memory, options, per_neuron, multi, alpha",
    [
        (40, "exact", None, False, False, [0.6]),
        (70, "exact", None, False, False, [0.45]),
        (40, "window", {"window": 7}, False, False, [0.6]),
        (20, "exact", None, True, False, [[0.5, 0.7, 0.9]]),
        (30, "window", {"window": 7}, True, False, [[0.5, 0.7, 0.9]]),
        (30, "exact", None, False, True, [0.3, 0.8]),
    ],
)
def test_gradcheck_through_the_engine_wrt_inputs_and_alpha(T, memory, options, per_neuron, multi, alpha):
    torch.manual_seed(3)
    x = torch.randn(T, 2, 3, dtype=F64, requires_grad=True)
    a = torch.tensor(alpha, dtype=F64, requires_grad=True)
    f = make_gradcheck_fn(T, memory, options, per_neuron, multi)
    # fast mode checks random projections u^T J v of the full Jacobian (inputs and α)
    assert torch.autograd.gradcheck(f, (x, a), eps=1e-6, atol=1e-6, rtol=1e-5, fast_mode=True)


def test_full_jacobian_gradcheck_on_a_small_case():
    torch.manual_seed(7)
    x = torch.randn(20, 1, 2, dtype=F64, requires_grad=True)
    a = torch.tensor([0.55], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(make_gradcheck_fn(20), (x, a), eps=1e-6, atol=1e-6, rtol=1e-5)


def test_repeated_backward_passes_give_the_same_gradient():
    torch.manual_seed(4)
    x = torch.randn(33, 5, dtype=F64, requires_grad=True)
    out = run_engine(x, drive, 0.4, learn_alpha=True)
    g1 = torch.autograd.grad(out.sum(), x, retain_graph=True)[0]
    g2 = torch.autograd.grad(out.sum(), x)[0]
    assert torch.equal(g1, g2)


def test_detach_gives_truncated_bptt_equal_to_a_hand_detached_run():
    torch.manual_seed(5)
    x = torch.randn(48, 3, dtype=F64)
    mem = fn.FractionalMemory(0.6, learn_alpha=True)
    v = torch.zeros(3, dtype=F64)
    for t in range(30):
        v = mem.step(v, drive(v, x[t]))
    mem.detach()
    v = v.detach()
    xw = x[30:].clone().requires_grad_()
    for t in range(18):
        v = mem.step(v, drive(v, xw[t]))
    gx, ga = torch.autograd.grad(v.sum(), (xw, mem.order.alpha_param))

    # hand-detached: the first 30 states are constants, the last 18 steps are differentiated
    alpha = torch.tensor([0.6], dtype=F64, requires_grad=True)
    xw2 = x[30:].clone().requires_grad_()
    states = reference.gl_run(torch.cat([x[:30], xw2]), lambda xn, v: drive(v, xn), alpha[0], detach_at=[31])
    gx2, ga2 = torch.autograd.grad(states[-1].sum(), (xw2, alpha))
    torch.testing.assert_close(gx, gx2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ga, ga2, rtol=1e-10, atol=1e-12)


def test_a_sequence_begun_under_no_grad_still_differentiates_alpha_afterwards():
    # weights cached under no_grad carry no graph to α; continuing with grad must recompute them
    torch.manual_seed(6)
    x = torch.randn(40, 3, dtype=F64)

    grads = []
    for detach in (False, True):
        mem = fn.FractionalMemory(0.6, learn_alpha=True)
        v = torch.zeros(3, dtype=F64)
        with torch.set_grad_enabled(detach):
            for t in range(21):  # ends mid-block
                v = mem.step(v, drive(v, x[t]))
        if detach:
            mem.detach()
            v = v.detach()
        for t in range(21, 40):
            v = mem.step(v, drive(v, x[t]))
        grads.append(torch.autograd.grad(v.sum(), mem.order.alpha_param)[0])
    assert grads[0].abs().item() > 0
    assert torch.equal(grads[0], grads[1])


def test_reset_starts_a_new_sequence_and_allows_a_new_batch_size():
    mem = fn.FractionalMemory(0.5)
    mem(torch.zeros(4, 2))
    mem(torch.ones(4, 2))
    assert mem.steps == 2
    with pytest.raises(StateShapeError, match=r"state shape changed from \(4, 2\) to \(3, 2\)"):
        mem(torch.zeros(3, 2))
    mem.reset()
    assert mem.steps == 0
    c = mem(torch.ones(3, 2))
    assert c.shape == (3, 2)


def test_dtype_change_mid_sequence_is_an_error_but_to_moves_the_history():
    mem = fn.FractionalMemory(0.5)
    mem(torch.ones(2, 3))
    with pytest.raises(ValueError, match="dtype/device changed"):
        mem(torch.ones(2, 3, dtype=F64))
    mem.double()
    c = mem(torch.ones(2, 3, dtype=F64))
    assert c.dtype == F64


def test_markovian_memory_keeps_no_history():
    mem = fn.FractionalMemory(1.0)
    assert mem(torch.ones(3)) is None
    assert mem.steps == 0


def test_unknown_memory_and_bad_options_are_rejected():
    with pytest.raises(ValueError, match="unknown memory 'ring'; choose one of 'exact', "):
        fn.FractionalMemory(0.5, "ring")
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        fn.FractionalMemory(0.5, "window", memory_options={"window": 0})
    with pytest.raises(TypeError, match="invalid options for memory 'exact'"):
        fn.FractionalMemory(0.5, "exact", memory_options={"window": 3})


def test_inputs_are_not_mutated():
    x = torch.randn(5, 2)
    before = x.clone()
    mem = fn.FractionalMemory(0.5)
    for t in range(5):
        mem(x[t])
    assert torch.equal(x, before)


def test_float32_engine_agrees_with_float64():
    torch.manual_seed(6)
    x = torch.randn(60, 8, dtype=F64)
    ref = run_engine(x, drive, 0.6)
    got = run_engine(x.float(), drive, 0.6)
    torch.testing.assert_close(got.double(), ref, rtol=0, atol=1e-5)
