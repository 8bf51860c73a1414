"""fracneuron.memory.exact: the exact engine converges to the Mittag-Leffler relaxation at order one, and is the Euler update at α = 1."""

import math

import pytest
import torch

import fracneuron as fn


F64 = torch.float64


def relax(alpha, N, T=5.0, lam=1.0, memory="exact", dtype=F64, **kw):
    """Explicit GL for D^α v = −λ v, v(0) = 1 (the Caputo anchor)."""
    h = T / N
    mem = fn.FractionalMemory(alpha, memory, step_size=h, **kw)
    v = torch.ones(1, 1, dtype=dtype)
    trajectory = [v]
    for _ in range(N):
        v = mem.step(v, h * (-lam * v))  # v(0) = 1 anchors the history
        trajectory.append(v)
    return torch.cat(trajectory).flatten()


@pytest.mark.parametrize("alpha", [0.3, 0.5, 0.7, 0.9])
def test_exact_engine_converges_to_mittag_leffler_with_order_one(alpha):
    T = 5.0
    exact = fn.mittag_leffler(alpha, -(T**alpha)).item()
    errors = [abs(relax(alpha, N)[-1].item() - exact) for N in (100, 200, 400, 800)]
    orders = [math.log2(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]
    assert all(abs(p - 1.0) < 0.1 for p in orders), (errors, orders)


def test_whole_trajectory_tracks_mittag_leffler():
    N, T, alpha = 2000, 5.0, 0.6
    t = torch.linspace(0, T, N + 1, dtype=F64)
    v = relax(alpha, N, T)
    assert (v - fn.mittag_leffler(alpha, -(t**alpha))).abs().max() < 5e-3


def test_alpha_one_is_the_euler_update_exactly():
    for dtype in (torch.float32, F64):
        N, h = 50, 0.1
        euler = [torch.ones(1, 1, dtype=dtype)]
        for _ in range(N):
            euler.append(euler[-1] + h * (-1.0 * euler[-1]))
        for learn in (False, True):  # learnable α = 1 goes through the history with zero weights
            assert torch.equal(relax(1.0, N, T=N * h, dtype=dtype, learn_alpha=learn), torch.cat(euler).flatten())


def test_outer_far_parts_reuse_their_buffer_and_corrections_handed_out_stay():
    # the far parts of an outer block (SPAN·BLOCK = 64 steps) go into one buffer, which the next
    # outer block and, after reset, the next sequence write again: the corrections returned
    # before keep their values, and every run equals a fresh engine's
    mem = fn.FractionalMemory(0.6, "exact").double()
    us = torch.randn(200, 2, 3, dtype=F64, generator=torch.Generator().manual_seed(5))
    engine = mem.engine.spawn()
    with torch.no_grad():
        first = [engine.correction(u, mem.order) for u in us]
        kept = [c.clone() for c in first]
        buffer = engine._past.outer_far.data_ptr()
        engine.reset()
        second = [engine.correction(u, mem.order) for u in us.flip(0)]
        reused = engine._past.outer_far.data_ptr() == buffer
        fresh = mem.engine.spawn()
        want = [fresh.correction(u, mem.order) for u in us.flip(0)]
    assert reused
    assert all(torch.equal(a, b) for a, b in zip(first, kept))
    assert all(torch.equal(a, b) for a, b in zip(second, want))
