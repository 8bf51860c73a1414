"""The block products of the stored history (far part, its flush) against the plain sum, and the
exact engine's two-level far parts against one level and against autograd through the plain
convolution, float64, over several outer blocks, with forks, no_grad gaps and learned α."""

from __future__ import annotations

import pytest
import torch

from fracneuron.functional.block_products import far_part, flush, skew
from fracneuron.functional.stored_history import BLOCK, SPAN
from fracneuron.memory import FractionalMemory

F64 = torch.float64


def random(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def plain_far(r: torch.Tensor, m0: int, lo: int, block: int, values: torch.Tensor) -> torch.Tensor:
    """F[:, block-1-i] = Σ_{lo ≤ j < m0} ρ_{m0+i-j} x_j with ρ_k = r[:, R-k], term by term."""
    R = r.shape[1]
    rows = [sum(r[:, R - (m0 + i - j), None] * values[:, j - lo] for j in range(lo, m0)) for i in range(block)]
    return torch.stack(rows[::-1], 1)


@pytest.mark.parametrize("block, m0, lo", [(4, 9, 0), (4, 9, 3), (16, 21, 5), (1, 6, 0)])
def test_far_part_is_the_plain_sum(block, m0, lo):
    r, values = random(2, 40, seed=1), random(2, m0 - lo, 5, seed=2)
    got = far_part(skew(r, block), 40, m0, lo, values)
    assert torch.allclose(got, plain_far(r, m0, lo, block, values), rtol=1e-13, atol=1e-13)
    into = random(2, block, 5, seed=3)
    assert torch.allclose(far_part(skew(r, block), 40, m0, lo, values, into=into), got + into, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("block, m0, lo", [(4, 9, 0), (16, 21, 5), (1, 6, 0)])
def test_flush_is_the_far_parts_gradient(block, m0, lo):
    r = random(2, 40, seed=1).requires_grad_()
    values = random(2, m0 - lo, 5, seed=2).requires_grad_()
    grad_out = random(2, block, 5, seed=3)
    plain_far(r, m0, lo, block, values).backward(grad_out)
    grad_values, grad_r = torch.ones_like(values), torch.zeros_like(r)  # flush adds to what is there
    flush(grad_values, grad_out, skew(r, block), 40, m0, lo, values.detach(), grad_r)
    assert torch.allclose(grad_values - 1, values.grad, rtol=1e-12, atol=1e-13)
    assert torch.allclose(grad_r, r.grad, rtol=1e-12, atol=1e-13)


def _sequence(memory: FractionalMemory, x: torch.Tensor, gap: range = range(0)) -> torch.Tensor:
    v, out = torch.zeros_like(x[0]), []
    for t, x_t in enumerate(x):
        with torch.set_grad_enabled(t not in gap):
            v = memory.step(v, x_t - 0.5 * v)
        out.append(v)
    return torch.stack(out)


def _memory(span: int, monkeypatch) -> FractionalMemory:
    import fracneuron.memory.exact as exact

    monkeypatch.setattr(exact, "SPAN", span)
    return FractionalMemory(0.6, memory="exact", learn_alpha=True).double()


@pytest.mark.parametrize("gap", [range(0), range(70, 90)])
def test_two_level_far_parts_match_one_level_in_values_and_gradients(gap, monkeypatch):
    T = 3 * SPAN * BLOCK + 11  # several outer blocks, the last one ragged
    x = random(T, 3, 4, seed=4)
    results = []
    for span in (SPAN, 1):
        memory = _memory(span, monkeypatch)
        xs = x.clone().requires_grad_()
        out = _sequence(memory, xs, gap)
        out.square().sum().backward()
        results.append((out.detach(), xs.grad, memory.order.alpha_param.grad))
        assert memory.state.engine._past.span == span
    for got, want in zip(*results):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_two_level_far_parts_match_autograd_through_the_plain_loop(monkeypatch):
    T = 2 * SPAN * BLOCK + 5
    x = random(T, 2, 3, seed=5)
    memory = _memory(SPAN, monkeypatch)
    xs = x.clone().requires_grad_()
    out = _sequence(memory, xs)
    out.square().sum().backward()
    # the same recursion by hand: v_n = v_{n-1} + Δ_n − Σ ω_k v_{n-k} (s = 1, anchor 0)
    alpha = torch.tensor(0.6, dtype=F64, requires_grad=True)
    w = [torch.ones((), dtype=F64)]
    for k in range(1, T + 1):
        w.append(w[-1] * (1 - (alpha + 1) / k))
    omega = [None, 1 - alpha] + w[2:]
    xr = x.clone().requires_grad_()
    states = [torch.zeros_like(x[0])]
    for n in range(1, T + 1):
        v_prev = states[-1]
        c = -sum(omega[k] * states[n - k] for k in range(1, n + 1))
        states.append(v_prev + (xr[n - 1] - 0.5 * v_prev) + c)
    want = torch.stack(states[1:])
    want.square().sum().backward()
    assert torch.allclose(out, want, rtol=1e-10, atol=1e-10)
    assert torch.allclose(xs.grad, xr.grad, rtol=1e-10, atol=1e-10)
    assert torch.allclose(memory.order.alpha_param.grad, alpha.grad, rtol=1e-9, atol=1e-10)


def test_a_fork_inside_an_outer_block_continues_both_ways(monkeypatch):
    x = random(SPAN * BLOCK + 40, 2, 3, seed=6)
    memory = _memory(SPAN, monkeypatch)
    xs = x.clone().requires_grad_()
    v = torch.zeros_like(x[0])
    for x_t in xs[:BLOCK + 5]:  # inside the first outer block, not at a block boundary
        v = memory.step(v, x_t - 0.5 * v)
    other = memory.state.fork()
    branch_a, branch_b = v, v
    for x_t in xs[BLOCK + 5 :]:
        branch_a = memory.step(branch_a, x_t - 0.5 * branch_a)
    memory.state, kept = other, memory.state
    for x_t in xs[BLOCK + 5 :]:
        branch_b = memory.step(branch_b, 2 * x_t - 0.5 * branch_b)
    (branch_a.square().sum() + branch_b.sum()).backward()
    # the same, one branch per fresh memory, the shared prefix replayed
    grads = torch.zeros_like(x)
    for scale, loss in ((1.0, lambda t: t.square().sum()), (2.0, lambda t: t.sum())):
        fresh = _memory(SPAN, monkeypatch)
        xr = x.clone().requires_grad_()
        v = torch.zeros_like(x[0])
        for t, x_t in enumerate(xr):
            v = fresh.step(v, (scale if t >= BLOCK + 5 else 1.0) * x_t - 0.5 * v)
        loss(v).backward()
        grads += xr.grad
    assert torch.allclose(xs.grad, grads, rtol=1e-10, atol=1e-12)
    assert kept is not memory.state


@pytest.mark.parametrize("first", [20, 40])
def test_outer_block_bounded_by_a_short_store(first, monkeypatch):
    # after a short sequence the next store is sized for that length: the outer block computes far
    # parts only for the steps the store has room for, and a new one starts where the store grows
    T = 2 * SPAN * BLOCK + 7
    x = random(T, 3, 4, seed=5)
    results = []
    for span in (SPAN, 1):
        memory = _memory(span, monkeypatch)
        _sequence(memory, random(first, 3, 4, seed=6))
        memory.reset()
        xs = x.clone().requires_grad_()
        out = _sequence(memory, xs)
        out.square().sum().backward()
        results.append((out.detach(), xs.grad, memory.order.alpha_param.grad))
    for got, want in zip(*results):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_a_short_sequence_computes_no_far_parts_beyond_its_store(monkeypatch):
    # a BLOCK-step sequence's far parts cover its BLOCK steps, not SPAN·BLOCK; one anchored at its
    # first state (u_0 = 0) has none to compute at all
    memory = _memory(SPAN, monkeypatch)
    _sequence(memory, random(BLOCK, 3, 4, seed=7))
    memory.reset()
    _sequence(memory, random(BLOCK, 3, 4, seed=8))
    past = memory.state.engine._past
    assert past.outer_steps == BLOCK and past.outer_far is None
    # a first value that is not zero (the engine driven directly): BLOCK far parts, and either
    # way the corrections are the plain sums c_m = Σ_k ρ_k x_{m-k}
    for first in (0.0, 1.5):
        values = random(BLOCK, 3, 4, seed=9)
        values[0] = first
        engine = memory.engine.spawn()
        with torch.no_grad():
            for _ in range(2):  # the second sequence's store is sized by the first: BLOCK rows
                engine.reset()
                got = [engine.correction(u, memory.order) for u in values]
            r = engine._reversed_weights(memory.order, BLOCK, values[0])[0]
        R = r.shape[0]
        want = [sum(r[R - k] * values[m - k] for k in range(1, m + 1)) for m in range(1, BLOCK + 1)]
        assert all(torch.allclose(a, b, rtol=1e-13, atol=1e-15) for a, b in zip(got, want))
        assert (engine._past.outer_far is None) == (first == 0.0)
        if first:
            assert engine._past.outer_far.shape[1] == BLOCK  # not SPAN·BLOCK
