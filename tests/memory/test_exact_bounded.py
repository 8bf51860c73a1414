"""The ``exact`` engine's working memory stays bounded (issue 13).

The stored history is O(T·N); what must not grow with T is what each block allocates on top of
it. Two deterministic checks, no timing and no RSS:

* every matrix product of the blocked convolution reads its operands in place: each is a
  matrix BLAS accepts as it is (unit stride along one axis, the other stride at least that
  axis's length). A Hankel slice of the weights with overlapping rows would be copied by the
  product into a fresh [block, n] buffer every block — the 689 MB of temporaries at T = 20,000;
* under ``torch.no_grad()``, outside the steps where the store or the weights grow (geometrically),
  no operation creates a tensor larger than one block's far part (block × state size).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import fracneuron as fn
from fracneuron.functional.stored_history import BLOCK, SPAN

pytestmark = pytest.mark.usefixtures("single_thread")


def _blas_ready(t: torch.Tensor) -> bool:
    """Can a matrix product read the [..., rows, cols] matrices of ``t`` without copying them?"""
    rows, cols = t.shape[-2:]
    row_stride, col_stride = t.stride()[-2:]
    if rows == 1 or cols == 1:
        return True
    return (col_stride == 1 and row_stride >= cols) or (row_stride == 1 and col_stride >= rows)


@pytest.fixture
def product_operands(monkeypatch):
    """Record the operands of every batched matrix product while the test runs."""
    seen: list[torch.Tensor] = []

    def recording(original):
        def product(*args, **kwargs):
            seen.extend(a for a in args if isinstance(a, torch.Tensor) and a.dim() == 3)
            return original(*args, **kwargs)

        return product

    monkeypatch.setattr(torch, "bmm", recording(torch.bmm))
    monkeypatch.setattr(torch, "baddbmm", recording(torch.baddbmm))
    monkeypatch.setattr(torch.Tensor, "baddbmm_", recording(torch.Tensor.baddbmm_))
    return seen


def _run(memory: fn.FractionalMemory, x: torch.Tensor) -> torch.Tensor:
    v = torch.zeros_like(x[0])
    out = []
    for x_t in x:
        v = memory.step(v, x_t - 0.5 * v)
        out.append(v)
    return torch.stack(out)


@pytest.mark.parametrize("memory", ["exact", "window"])
def test_block_products_read_their_operands_in_place(product_operands, memory):
    options = {"window": 40} if memory == "window" else None
    mem = fn.FractionalMemory(0.6, memory=memory, learn_alpha=True, memory_options=options).double()
    x = torch.randn(300, 4, 8, dtype=torch.float64, requires_grad=True)
    out = _run(mem, x)
    out.square().sum().backward()  # the backward's products (far part, α's gradient) as well
    far = [t for t in product_operands if t.shape[-2] == BLOCK and t.shape[-1] > BLOCK]
    assert far, "no far-part product was recorded"
    bad = [(tuple(t.shape), t.stride()) for t in product_operands if not _blas_ready(t)]
    assert not bad, f"operands a product must copy first: {bad[:3]}"


class _NewTensors(TorchDispatchMode):
    """The numel of every tensor an operation allocates (outputs sharing no input's storage)."""

    def __init__(self) -> None:
        super().__init__()
        self.sizes: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = {a.untyped_storage().data_ptr() for a in _tensors(args) + _tensors(kwargs)}
        for t in _tensors(out):
            if t.untyped_storage().data_ptr() not in inputs:
                self.sizes.append(t.numel())
        return out


def _tensors(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


@pytest.mark.parametrize("T", [600, 2400])
def test_no_grad_allocations_per_step_do_not_grow_with_T(T):
    N = 8
    mem = fn.FractionalMemory(0.6, memory="exact")
    x = torch.randn(T, N)
    v = torch.zeros(N)
    largest, growth_steps = 0, 0
    with torch.no_grad():
        for x_t in x:
            engine = mem.state.engine
            before = _buffers(engine)
            with _NewTensors() as new:
                v = mem.step(v, x_t - 0.5 * v)
            if _buffers(mem.state.engine) != before:
                growth_steps += 1  # the store or the weights grew (geometrically): allowed to allocate
                continue
            largest = max(largest, max(new.sizes, default=0))
    # (an outer block's far parts: SPAN blocks of them at once)
    assert largest <= SPAN * BLOCK * N, f"a step allocated {largest} elements (state size {N}, block {BLOCK})"
    # growth happens a logarithmic number of times: store doubling, weights doubling, first steps
    assert growth_steps <= 3 * math.ceil(math.log2(T)) + 4
    past = mem.state.engine._past
    assert past.store.capacity <= 2 * (T + BLOCK)
    assert past.skewed.shape[:2] == (1, BLOCK) and past.skewed.shape[2] <= 2 * (T + BLOCK)
    assert past.outer_skewed.shape[:2] == (1, SPAN * BLOCK) and past.outer_skewed.shape[2] <= 2 * (T + SPAN * BLOCK)


def _buffers(engine) -> tuple:
    past = engine._past
    store = None if past.store is None else past.store.data.data_ptr()
    weights = None if past.weights is None else past.weights.data_ptr()
    return store, weights


def test_blocked_sum_equals_the_plain_sum():
    """The in-place Hankel views give the plain sum Σ ρ_k u_{n-k} (functional/traced.py)."""
    from fracneuron.functional.traced import traced_history_step

    mem = fn.FractionalMemory(0.6, memory="exact").double()
    engine, order = mem.state.engine, mem.order
    u = torch.randn(200, 3, 5, dtype=torch.float64)
    omega = engine._omega(order, 200, u)
    past = None
    for n, u_t in enumerate(u, start=1):
        blocked = engine.correction(u_t, order)
        plain, past = traced_history_step(past, u_t, omega[:n])
        torch.testing.assert_close(blocked, plain, rtol=1e-12, atol=1e-12)
