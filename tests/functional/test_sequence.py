"""The sequence kernel (fracneuron.functional.sequence) on its own, with a plain-torch cell.

float64 gradcheck of the hand-written backward w.r.t. the input, the starting state V_0 (which is
also the anchor of a new sequence), a learned time constant and α (per layer and per neuron),
for a new sequence and for a continuation (its anchor and the earlier call's states as inputs).
The fire is smooth, so that the forward is differentiable and the backward must be its gradient.
"""

from __future__ import annotations

import pytest
import torch

from fracneuron.functional.sequence import fused_sequence
from fracneuron.memory import FractionalMemory
from fracneuron.memory.sequence import SequenceHistory


class SmoothLIF:
    """C = V + (x − V)·r with r = sigmoid(w); S = sigmoid(4(H − θ)); hard reset to 0."""

    threshold = 1.0

    def __init__(self, w: torch.Tensor) -> None:
        self.w, self.params = w, (w,) if w.requires_grad else ()
        self.rate = w.detach().sigmoid()

    def charge(self, x, v):
        return v + (x - v) * self.w.sigmoid()

    def charge_partials(self):
        return self.rate, 1.0 - self.rate

    def param_grads(self, x_seq, v_prev, grad_charged):
        return [((grad_charged * (x_seq - v_prev)).sum() * self.rate * (1 - self.rate)).reshape(self.w.shape)]

    def fire(self, z):
        return torch.sigmoid(4.0 * z)

    def fire_slope(self, z):
        s = torch.sigmoid(4.0 * z)
        return 4.0 * s * (1.0 - s)

    def reset(self, H, S):
        return (1.0 - S) * H

    def reset_partials(self, H, S):
        return 1.0 - S, -H


def run(memory: FractionalMemory, x, v_init, w, chunks=(None,)):
    state = memory.new_state()
    outputs, v = [], v_init
    for chunk in x.split(chunks[0]) if chunks[0] else (x,):
        history = SequenceHistory(memory, state, chunk.shape[0])
        spikes, v, link = fused_sequence(SmoothLIF(w), history, chunk, v)
        history.record(link)
        outputs.append(spikes)
    return torch.cat(outputs), v


@pytest.mark.parametrize("engine", ["exact", "soe", "window"])
@pytest.mark.parametrize("per_neuron", [False, True])
@pytest.mark.parametrize("chunks", [None, 4])
def test_gradcheck(engine, per_neuron, chunks):
    options = {"window": 5} if engine == "window" else None
    memory = FractionalMemory(0.7, engine, learn_alpha=True, per_neuron=per_neuron, memory_options=options).double()
    torch.manual_seed(0)
    x = (2 * torch.rand(10, 2, 3, dtype=torch.float64)).requires_grad_()
    v_init = (0.3 * torch.rand(2, 3, dtype=torch.float64)).requires_grad_()
    w = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
    run(memory, x.detach(), v_init.detach(), w.detach())  # materializes a per-neuron α
    alpha = memory.order.alpha_param

    def f(x, v_init, w):
        return run(memory, x, v_init, w, (chunks,))

    assert torch.autograd.gradcheck(f, (x, v_init, w), eps=1e-6, atol=1e-8, rtol=1e-6)
    # α: the analytic gradient against central differences of a scalar loss
    spikes, _ = run(memory, x.detach(), v_init.detach(), w.detach(), (chunks,))
    weights = torch.linspace(0.5, 1.5, spikes.numel(), dtype=torch.float64).reshape(spikes.shape)

    def loss():
        s, v = run(memory, x.detach(), v_init.detach(), w.detach(), (chunks,))
        return (s * weights).sum() + (v**2).sum()

    (analytic,) = torch.autograd.grad(loss(), alpha)
    numeric = torch.zeros_like(alpha)
    base = alpha.detach().clone()
    for i in range(alpha.numel()):
        for sign in (1, -1):
            with torch.no_grad():
                alpha.copy_(base)
                alpha.view(-1)[i] += sign * 1e-6
                numeric.view(-1)[i] += sign * loss() / 2e-6
    with torch.no_grad():
        alpha.copy_(base)
    torch.testing.assert_close(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert analytic.abs().sum() > 0
