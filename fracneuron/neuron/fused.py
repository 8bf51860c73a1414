r"""Fused multi-step path of the native neurons: a whole ``[T, B, ...]`` sequence of an IF/LIF
neuron with fractional memory as one autograd node.

The neurons of :mod:`fracneuron.neuron` step charge → fire → reset (u_j = v_j − v_0, the history
measured from the sequence's first state)

    H_n = v_{n-1} + s·h·f(v_{n-1}, x_n) + c_n,       c_n = Σ_{k≥1} ρ_k u_{n-k}
    S_n = Θ(H_n − θ),                                 v_n = R(H_n, S_n)

with f = (x − (v − v_rest))/τ (LIF) or x/τ (IF). Recorded step by step, every step costs a dozen
autograd nodes (or one lean node, :mod:`.lean`) and the backward walks them one at a time. Here
the neuron runs on the generic sequence kernel :func:`fracneuron.functional.sequence.fused_sequence`
(the same kernel as SpikingJelly's nodes): its cell (:class:`~fracneuron.neuron.cell.NeuronCell`:
the neuron's charge, fire, reset and their derivatives) and its memory's
:class:`~fracneuron.memory.sequence.SequenceHistory` (the running state advances as stepping
advances it). The forward performs the stepped neuron's very operations without a graph (spikes
and states bit for bit), the backward is the adjoint recurrence, for every engine with an adjoint
(``exact``, ``window``, ``soe``), a fixed or learned order (per layer, per neuron, multi-term), a
learned τ, soft or hard reset, ``detach_reset``.

Continuing a sequence: a call after ``detach()`` starts from constants; a call that continues an
earlier fused call without ``detach()`` takes that call's *link* (its states, with their graph) as
an input, so the memory's gradient reaches the earlier call as it would when stepping. A past
recorded step by step with a graph (``'s'`` steps that recorded one) is continued by stepping.
"""

from __future__ import annotations

import torch

from ..functional.sequence import fused_sequence as run_sequence
from ..memory.fractional import ExplicitGL
from ..memory.sequence import SequenceHistory, can_run_sequence
from ..surrogate import SpikeFunction
from .cell import NeuronCell

__all__ = ["fused_sequence", "can_fuse", "fits_fast_path"]


def fits_fast_path(neuron, x: torch.Tensor, stepping: type) -> bool:
    """What the fused sequence and the lean single step both need of ``neuron`` and its input
    ``x``: an IF/LIF model (``fused_dv_dt``) with ``stepping``'s own charge → fire → reset, a
    spike function whose derivative is known, no refractoriness or trace (those are stepped), a
    fractional order (α = 1 stays the native step, untouched) charged by explicit GL (not one of
    ``SNNWrapper``'s other schemes), a float input, not under ``torch.compile`` (compiled graphs
    trace the plain step), and the option not turned off."""
    return (
        not torch.compiler.is_compiling()
        and getattr(neuron, "fused_multi_step", True)  # modules pickled before the option existed
        and _model_fits(type(neuron), stepping)
        and isinstance(neuron.surrogate_f, SpikeFunction)
        and not getattr(neuron, "refractory", 0)
        and getattr(neuron, "trace_tau", None) is None
        and not neuron.memory.is_markovian
        and isinstance(neuron.memory.stepper, ExplicitGL)
        and x.is_floating_point()
    )


def _model_fits(cls: type, stepping: type) -> bool:
    """IF/LIF's dv/dt (not a subclass's own) and ``stepping``'s own charge → fire → reset (not,
    say, ALIF's threshold). Not cached: a few attribute reads, and torch.compile traces it."""
    return cls.dv_dt is getattr(cls, "fused_dv_dt", None) and all(
        getattr(cls, name) is getattr(stepping, name) for name in _STEP_METHODS
    )


def can_fuse(neuron, x_seq: torch.Tensor, stepping: type) -> bool:
    """Whether ``neuron`` can run ``x_seq`` on the fused path: :func:`fits_fast_path`, at least
    one step, and a memory whose engine has an adjoint and whose past carries no autograd graph."""
    return (
        fits_fast_path(neuron, x_seq, stepping)
        and x_seq.shape[0] > 0
        and can_run_sequence(neuron.memory, neuron.memory.state)
    )


_STEP_METHODS = ("single_step", "fire", "reset_potential", "firing_threshold", "initial_potential", "_potential_for")


def fused_sequence(neuron, x_seq: torch.Tensor) -> torch.Tensor:
    """Spikes ``[T, B, *features]`` of ``neuron`` driven by ``x_seq``; advances its memory's
    running state and sets ``neuron.v`` to v_T, as stepping would."""
    v_init = neuron._potential_for(x_seq[0])
    memory = neuron.memory
    memory.check_step_size(neuron.step_size)
    order = memory.order
    if order.per_neuron and not order.is_materialized:
        order.materialize(v_init.shape[1:])  # its parameter must exist before the sequence's node
    history = SequenceHistory(memory, memory.state, x_seq.shape[0])
    spikes, neuron.v, link = run_sequence(NeuronCell(neuron), history, x_seq, v_init)
    history.record(link)
    return spikes
