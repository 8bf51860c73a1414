r"""Which path a fractional IF/LIF/PLIF node takes in 'm' mode, and the fused one.

**fused**: the whole ``[T, B, ...]`` sequence is one autograd node
(:func:`fracneuron.functional.sequence.fused_sequence`): SpikingJelly's charge, fracneuron's
history, SpikingJelly's fire and reset, a hand-written backward. Spikes and states are bit for bit
those of the stepped path; gradients agree to rounding.

**stepped**: one ``single_step_functional_forward`` per step, recorded by autograd. It runs when
the fused path cannot: a memory engine without an adjoint (a third-party engine), a past that
carries an autograd graph (continuing a sequence without ``detach_net``), a node class that
changes the charge or the step, extra inputs or keyword arguments, SpikingJelly's neuron precision
options, a non-float input, or ``node.fused_multi_step = False``. ``store_v_seq`` and 's' mode
step through ``single_step_functional_forward`` in SpikingJelly itself.
"""

from __future__ import annotations

import torch

from fracneuron.functional.sequence import fused_sequence
from fracneuron.memory.sequence import SequenceHistory, can_run_sequence
from fracneuron.memory.state import FractionalState

from .cells import CELLS, cell_for
from .native_charges import CHARGES
from .supported_nodes import transition_of

__all__ = ["multi_step_path", "can_fuse", "run_fused"]

#: the step methods a node must inherit unchanged for the fused path
_STEP_METHODS = ("fractional_step", "single_step_functional_forward", "multi_step_functional_forward")


def multi_step_path(node, owner: type) -> str:
    """``"native"`` (a fixed α = 1), ``"fused"`` or ``"stepped"``: the path a new sequence takes in
    'm' mode (``store_v_seq`` always steps). ``owner``: the class whose step methods the node must
    inherit unchanged (``FractionalTransitionNode``)."""
    if node.memory.is_markovian:
        return "native"
    return "fused" if _class_fuses(node, owner) and can_run_sequence(node.memory, None) else "stepped"


def _class_fuses(node, owner: type) -> bool:
    cls = type(node)
    native = transition_of(node.native_class)
    return (
        getattr(node, "fused_multi_step", True)
        and native in CELLS
        and cls.charge is CHARGES[native]
        and all(getattr(cls, name) is getattr(owner, name) for name in _STEP_METHODS)
        and getattr(node, "_neuron_precision", None) is None
    )


def can_fuse(node, owner: type, inputs: tuple, states: tuple, kwargs: dict) -> bool:
    """Whether this call of ``node.multi_step_functional_forward`` runs fused."""
    if len(inputs) != 1 or kwargs or torch.compiler.is_compiling() or not _class_fuses(node, owner):
        return False
    x_seq, v = inputs[0], states[0]
    if not (x_seq.is_floating_point() and x_seq.shape[0] > 0 and isinstance(v, torch.Tensor) and v.dtype == x_seq.dtype):
        return False
    state = states[node._frac_slot()]
    return can_run_sequence(node.memory, state if isinstance(state, FractionalState) else None)


def run_fused(node, inputs: tuple, states: tuple) -> tuple:
    """``multi_step_functional_forward`` on the fused path: advances a fork of the given state."""
    x_seq, v = inputs[0], states[0]
    order = node.memory.order
    if order.per_neuron and not order.is_materialized:
        order.materialize(x_seq.shape[2:])  # its parameter must exist before the sequence's node
    new_states = list(states)
    slot = node._frac_slot()
    state = new_states[slot] = node._frac_state_in(states[slot])
    history = SequenceHistory(node.memory, state, x_seq.shape[0])
    spikes, new_states[0], link = fused_sequence(cell_for(node), history, x_seq, v)
    history.record(link)
    return (spikes,), tuple(new_states)
