"""The memory side of a fused sequence (fracneuron/memory/sequence.py): what it leaves behind.

Its fused-vs-stepped exactness is tested where the sequences run (tests/neuron/test_fused.py,
tests/adapters/spikingjelly/test_fused.py)."""

from __future__ import annotations

import pytest
import torch

from cycles import cycle_garbage
from fracneuron.neuron import LIFNeuron


@pytest.mark.parametrize("memory", ["exact", "window", "soe"])
@pytest.mark.parametrize("learn_alpha", [False, True])
def test_a_fused_sequence_leaves_no_reference_cycle(memory, learn_alpha):
    # the sequence's autograd node holds its history; the state holds the node's link: the
    # history must let go of the state, or a reset leaves both (and the stored past) to the
    # cycle collector
    neuron = LIFNeuron(tau=2.0, alpha=0.6, memory=memory, learn_alpha=learn_alpha, step_mode="m")
    x = torch.rand(20, 3, 5, requires_grad=True)

    def run():
        neuron.reset()
        neuron(x).sum().backward()
        neuron.reset()

    assert cycle_garbage(run) == {}



@pytest.mark.parametrize("T", [1, 15, 16, 17, 50, 64, 65, 130, 200])
def test_blocked_adjoint_reads_the_gradients_in_place(T):
    # ḡu_n = Σ_{j≥n} ρ_{j−n+1} ḡH_j, by blocks over the gradient buffer as it fills from the end
    from fracneuron.memory.sequence import _BlockedAdjoint

    torch.manual_seed(T)
    rho = torch.randn(T, 1, dtype=torch.float64)
    grads = torch.randn(T, 3, 4, dtype=torch.float64)
    buffer = torch.full_like(grads, float("nan"))  # rows below n are not written yet: never read
    adjoint = _BlockedAdjoint(rho, buffer)
    for n in range(T - 1, -1, -1):
        buffer[n] = grads[n]
        expected = sum(rho[j - n, 0] * grads[j] for j in range(n, T))
        torch.testing.assert_close(adjoint.correction(buffer[n]), expected, rtol=1e-13, atol=1e-13)
    # far-part buffers only where far parts exist (one block: none; an outer block past 64 steps)
    assert [b is not None for b in adjoint.buffers] == [T > 16, T > 64]


@pytest.mark.parametrize("first", [True, False])
@pytest.mark.parametrize("T", [1, 2, 16, 40])
def test_short_adjoint_pushes_each_gradient_into_the_rows_below(T, first):
    # ḡu_n = Σ_{j≥n} ρ_{j−n+1} ⊙ ḡH_j (a kernel per neuron), its sums kept in the rows below n of
    # the gradient buffer, which the scan writes only after reading them; without ``first`` no sum
    # of u_0 is kept (an anchored call's terms cancel) and asking for it is an error
    from fracneuron.memory.sequence import _ShortAdjoint

    torch.manual_seed(T)
    rho = torch.randn(T, 4, dtype=torch.float64)
    grads = torch.randn(T, 3, 4, dtype=torch.float64)
    buffer = torch.full_like(grads, float("nan"))
    adjoint = _ShortAdjoint(rho, buffer, first=first)
    for n in range(T - 1, -1, -1):
        buffer[n] = grads[n]
        expected = sum(rho[j - n] * grads[j] for j in range(n, T))
        if n == 0 and not first:
            with pytest.raises(RuntimeError, match="u_0"):
                adjoint.correction(buffer[n])
        else:
            torch.testing.assert_close(adjoint.correction(buffer[n]), expected, rtol=1e-13, atol=1e-13)
