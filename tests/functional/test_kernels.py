"""The history kernels of fracneuron.functional (stored history, sum-of-exponential modes) as
explicit, persistent state: forks are independent, branches and no_grad gaps differentiate right.

The gradient of these kernels travels through autograd itself (no state shared between the steps'
backward passes), so two continuations of one past send two gradients into it, and a stretch run
under no_grad in the middle of a recorded sequence is bridged, not dropped.
"""

from __future__ import annotations

import pytest
import torch

from fracneuron.memory import FractionalMemory

F64 = torch.float64
SMALL_SOE = dict(tol=1e-6, horizon=500, exact_lags=3, block=4)

ENGINES = {
    "exact": dict(memory="exact"),
    "window": dict(memory="window", memory_options={"window": 7}),
    "soe": dict(memory="soe", memory_options=SMALL_SOE),
}
ORDERS = {
    "layer": dict(alpha=0.6, learn_alpha=True),
    "neuron": dict(alpha=torch.tensor([0.35, 0.7, 0.9]).double()),
    "multi": dict(alpha=[0.4, 0.8], coefficients=[1.0, 0.5], learn_alpha=True),
}


def memory(engine, order):
    options = {**ENGINES[engine], **ORDERS[order]}
    if order == "neuron":  # a per-neuron α given as a tensor is fixed: learn it from that start
        options = {**options, "learn_alpha": True}
    return FractionalMemory(**options).double()


def run(mem, engine, us):
    """c_1 … c_n of ``engine`` fed u_0 … u_{n-1} with ``mem``'s order (the raw convolution)."""
    return [engine.correction(u, mem.order) for u in us]


def params(mem):
    return [p for p in mem.parameters() if p.requires_grad]


@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_two_continuations_of_one_past_get_both_gradients(engine, order):
    """fork(): a branch continues the past; the past's inputs and α get the sum of both."""
    torch.manual_seed(0)
    prefix = torch.randn(13, 2, 3, dtype=F64, requires_grad=True)
    left, right = torch.randn(2, 9, 2, 3, dtype=F64)
    weights = torch.randn(2, 9, 2, 3, dtype=F64)

    mem = memory(engine, order)
    eng = mem.engine
    head = run(mem, eng, prefix)
    branch = eng.fork()
    a = run(mem, eng, left)
    b = run(mem, branch, right)
    loss = sum(c.sum() for c in head)
    loss = loss + sum((c * w).sum() for c, w in zip(a, weights[0])) + sum((c * w).sum() for c, w in zip(b, weights[1]))
    got = torch.autograd.grad(loss, [prefix, *params(mem)])

    # reference: two independent sequences over the same prefix and α, each recorded whole
    total = 0
    for tail, w in ((left, weights[0]), (right, weights[1])):
        fresh = eng.spawn()
        cs = run(mem, fresh, prefix)
        total = total + sum((c * wk).sum() for c, wk in zip(run(mem, fresh, tail), w))
        if tail is left:
            total = total + sum(c.sum() for c in cs)
    want = torch.autograd.grad(total, [prefix, *params(mem)])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_fork_leaves_the_original_sequence_unchanged(engine):
    torch.manual_seed(1)
    us = torch.randn(30, 2, 3, dtype=F64)
    mem = memory(engine, "layer")
    want = run(mem, mem.engine.spawn(), us)
    eng = mem.engine
    got = run(mem, eng, us[:17])
    branch = eng.fork()
    run(mem, branch, torch.randn(20, 2, 3, dtype=F64))  # the branch writes past the shared rows
    got += run(mem, eng, us[17:])
    assert all(torch.equal(g, w) for g, w in zip(got, want))


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_a_no_grad_stretch_inside_a_recorded_sequence_is_bridged(engine):
    """Steps run under no_grad mid-sequence are constants; the gradient of later outputs still
    reaches earlier inputs (and α) through the memory across them."""
    torch.manual_seed(2)
    us = torch.randn(40, 2, 3, dtype=F64)
    before = us[:11].clone().requires_grad_()
    mem = memory(engine, "layer")
    eng = mem.engine
    run(mem, eng, before)
    with torch.no_grad():
        run(mem, eng, us[11:25])
    after = run(mem, eng, us[25:])
    got = torch.autograd.grad(sum(c.sum() for c in after), [before, *params(mem)])

    ref = eng.spawn()
    before2 = us[:11].clone().requires_grad_()
    run(mem, ref, before2)
    run(mem, ref, us[11:25])  # recorded, but constants and not in the loss
    after2 = run(mem, ref, us[25:])
    want = torch.autograd.grad(sum(c.sum() for c in after2), [before2, *params(mem)])
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-12)


def test_backward_passes_keep_no_state_between_them():
    """Two backward passes over one graph, and a second graph over the same engine afterwards,
    give the gradients of independent runs (nothing of a pass outlives it)."""
    torch.manual_seed(3)
    for engine in sorted(ENGINES):
        x = torch.randn(25, 2, 3, dtype=F64, requires_grad=True)
        mem = memory(engine, "layer")
        out = sum(c.sum() for c in run(mem, mem.engine, x))
        g1 = torch.autograd.grad(out, x, retain_graph=True)[0]
        g2 = torch.autograd.grad(out, x)[0]
        assert torch.equal(g1, g2), engine


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_forks_stay_independent_without_a_graph(engine):
    """Fixed α under no_grad: a handle no one else reads updates its modes in place and moves its
    store into the buffer it left (soe); a fork at any step turns that off for both handles, so
    the branch and the original, stepped in turn, each equal a run of their own."""
    torch.manual_seed(3)
    us, other = torch.randn(70, 2, 3, dtype=F64), torch.randn(70, 2, 3, dtype=F64)
    mem = FractionalMemory(alpha=0.6, **ENGINES[engine]).double()
    with torch.no_grad():
        want = run(mem, mem.engine.spawn(), us)
        for cut in (1, 4, 9, 23, 40):
            want_branch = run(mem, mem.engine.spawn(), torch.cat([us[:cut], other[cut:]]))
            eng = mem.engine.spawn()
            got = run(mem, eng, us[:cut])
            branch = eng.fork()
            got_branch = list(got)
            for u, w in zip(us[cut:], other[cut:]):  # in turn: each writes while the other reads
                got += run(mem, eng, u[None])
                got_branch += run(mem, branch, w[None])
            assert all(torch.equal(g, w) for g, w in zip(got, want))
            assert all(torch.equal(g, w) for g, w in zip(got_branch, want_branch))
