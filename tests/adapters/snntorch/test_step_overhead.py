"""What one step of a fractional snnTorch neuron costs, counted, not timed (issue 13).

snnTorch users call a neuron one step at a time, so everything the adapter adds per step is paid
T times. These tests pin the mechanisms down:

* the new-sequence rule is decided by pointer comparisons: no value comparison of whole tensors
  and no host read (``.item()``, ``.tolist()``, ``bool(tensor)``) once a sequence runs;
* the autograd graph grows by a fixed number of nodes per step, independent of T, and only a few
  more than the native neuron's;
* the stored history lives in a preallocated buffer, grown geometrically within a sequence and
  sized from the previous sequence for the next one (no per-step ``torch.cat``).
"""

from __future__ import annotations

import math

import pytest
import torch

import fracneuron as fn

snn = pytest.importorskip("snntorch")
neuron_module = pytest.importorskip("fracneuron_snntorch.neuron")

pytestmark = pytest.mark.usefixtures("single_thread")


def _leaky(alpha: float | None = 0.6, **kwargs):
    lif = snn.Leaky(beta=0.9, **kwargs)
    if alpha is not None:
        fn.fractionalize(lif, alpha=alpha, memory="exact")
    return lif


def _graph_nodes(out: torch.Tensor) -> int:
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return len(seen)


def _nodes_after(T: int, alpha: float | None) -> int:
    torch.manual_seed(0)
    lif = _leaky(alpha)
    x = torch.rand(T, 4, 6, requires_grad=True)
    mem = lif.init_leaky()
    for x_t in x:
        _, mem = lif(x_t, mem)
    return _graph_nodes(mem)


class _NoHostReads:
    """Make value comparisons (and, unless ``reads_allowed``, host reads) of tensors raise while
    active."""

    def __init__(self, monkeypatch, reads_allowed: bool = False) -> None:
        self.monkeypatch = monkeypatch
        self.reads = () if reads_allowed else ("item", "tolist", "__bool__")

    def __enter__(self):
        def refuse(name):
            def method(*args, **kwargs):
                raise AssertionError(f"{name} called on the per-step path")

            return method

        for name in self.reads:
            self.monkeypatch.setattr(torch.Tensor, name, refuse(f"Tensor.{name}"))
        for name in ("equal", "allclose"):
            self.monkeypatch.setattr(torch, name, refuse(f"torch.{name}"))
        self.monkeypatch.setattr(neuron_module, "_same_values", refuse("_same_values"))
        return self

    def __exit__(self, *exc):
        self.monkeypatch.undo()


@pytest.mark.parametrize("carry", ["returned", "detached", "module"])
def test_continuing_a_sequence_reads_no_values(monkeypatch, carry):
    torch.manual_seed(0)
    init_hidden = carry == "module"
    lif = _leaky(init_hidden=init_hidden)
    x = torch.rand(30, 3, 5)
    mem = lif.init_leaky()
    lif(x[0]) if init_hidden else lif(x[0], mem)  # the first step may read its anchor once
    mem = lif.mem
    with _NoHostReads(monkeypatch):
        for x_t in x[1:]:
            if init_hidden:
                lif(x_t)
            else:
                _, mem = lif(x_t, mem.detach() if carry == "detached" else mem)
    assert lif.memory.steps == 30  # every step continued the one sequence


def test_a_new_membrane_starts_a_new_history_by_pointer(monkeypatch):
    lif = _leaky()
    x = torch.rand(10, 3, 5)
    mem = lif.init_leaky()
    for x_t in x:
        _, mem = lif(x_t, mem)
    with _NoHostReads(monkeypatch, reads_allowed=True):  # a new sequence reads its anchor once
        _, mem = lif(x[0], mem.clone())  # equal values, another tensor: a new sequence
    assert lif.memory.steps == 1
    with _NoHostReads(monkeypatch):
        for x_t in x[1:4]:
            _, mem = lif(x_t, mem)
    assert lif.memory.steps == 4


def test_autograd_nodes_per_step_are_fixed_and_few():
    per_step = {}
    for alpha in (None, 0.6):
        counts = [_nodes_after(T, alpha) for T in (8, 9, 40)]
        per_step[alpha] = counts[1] - counts[0]
        assert counts[2] - counts[0] == 32 * per_step[alpha], "nodes per step depend on T"
    # the fractional step adds: the post-reset membrane, the history step, + c_n
    assert per_step[0.6] - per_step[None] <= 3, per_step


def test_history_buffer_is_preallocated_and_reused_in_size():
    torch.manual_seed(0)
    lif = _leaky()
    x = torch.rand(100, 2, 3)

    def run() -> set[int]:
        buffers = set()
        mem = lif.init_leaky()
        for x_t in x:
            _, mem = lif(x_t, mem)
            buffers.add(lif.memory.engine._past.store.data.data_ptr())
        return buffers

    first = run()
    assert len(first) <= math.ceil(math.log2(len(x))) + 1  # grown by doubling, not per step
    assert len(run()) == 1  # the next sequence allocates once, at its first step


def test_fresh_membrane_skips_the_anchor_subtraction_bit_for_bit():
    """A +0 anchor stores v itself; a non-zero anchor subtracts: the two agree with the formula."""
    torch.manual_seed(0)
    x = torch.rand(40, 3, 5)
    results = []
    for start in (torch.zeros(3, 5), torch.full((3, 5), 0.25)):
        lif = _leaky()
        mem, trace = start.clone(), []
        for x_t in x:
            _, mem = lif(x_t, mem)
            trace.append(mem)
        results.append((lif.memory.state.zero_anchor, torch.stack(trace)))
    assert results[0][0] and not results[1][0]
    # reference for the zero anchor: the same neuron with the shortcut switched off
    lif = _leaky()
    mem, trace = torch.zeros(3, 5), []
    for i, x_t in enumerate(x):
        _, mem = lif(x_t, mem)
        if i == 0:
            lif.memory.state.zero_anchor = False
        trace.append(mem)
    assert torch.equal(results[0][1], torch.stack(trace))


def test_negative_zero_anchor_keeps_the_subtraction():
    lif = _leaky()
    _, mem = lif(torch.rand(2, 3), torch.full((2, 3), -0.0))
    assert not lif.memory.state.zero_anchor
