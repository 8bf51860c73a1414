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

