r"""Mixins that give a SpikingJelly node fractional memory, one per kind of node.

Every fractional node holds a :class:`~fracneuron.memory.FractionalMemory` as ``node.memory``
and applies DESIGN.md's formula at the one place its membrane is charged:

    H_n = v_{n-1} + s·Δ_n + c_n,      c_n = memory(v_{n-1}) = −Σ_k ω_k (v_{n-1-k} − v_0)

with Δ_n the node's own charge increment and v_0 the membrane the sequence started from (Caputo's
anchor: the reset value ``v_reset``, or 0 for a soft reset and the readouts, unless ``node.v`` was
set to another tensor before the first step). The memory is asked once per step, before charging,
with the state the step starts from. At a fixed α = 1 the memory is Markovian and the node runs its native
code untouched, so it is the native node bit for bit.

Explicit state (the ``BaseNode`` family: IF/LIF/PLIF and ``neuronal_charge`` BaseNodes). The
fractional past — a :class:`~fracneuron.memory.state.FractionalState`, the history engine and
the anchor — is a SpikingJelly memory of the node, ``frac_state`` (``None``: a new sequence),
next to ``v``. So ``node.functional_forward(inputs, states)`` is pure: it forks the state it is
given and returns the advanced fork, leaving the module and the given states as they were, and
``node(x)`` from the same states gives the same result. SpikingJelly's state tools
(``extract_memories``/``load_memories``, ``to_functional_forward``, memopt checkpointing) carry
the history like any other state; a node's own steps replace ``frac_state`` with a new state
object each step (O(1) for the built-in engines), so a saved state stays what it was. The module's
running state is also ``node.memory.state``. At a fixed α = 1 no ``frac_state`` is registered:
the node's state layout is the native one.

``reset()`` (and so ``functional.reset_net``) forgets the history; ``detach()`` (and
``functional.detach_net``) cuts its autograd graph for truncated BPTT; ``.to()``/``.double()``
move it. A batch-size change without a reset raises
:class:`~fracneuron.memory.StateShapeError` instead of silently restarting ``v``. In 'm'
mode, a call that continues a history 50 times longer than itself without ``reset_net`` or
``detach_net`` in between is warned about once (a forgotten reset between batches).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spikingjelly.activation_based import functional
from spikingjelly.activation_based.base import MemoryModule

from fracneuron.functional.step import fractional_potential
from fracneuron.memory import FractionalMemory, StateShapeError
from fracneuron.memory.engine import MemoryEngine
from fracneuron.memory.state import FractionalState
from fracneuron.options import FractionalOptions

from .fused import can_fuse, multi_step_path as sequence_path, run_fused

__all__ = [
    "STATE",
    "FractionalNode",
    "FractionalBaseNode",
    "FractionalTransitionNode",
    "FractionalBaseChargeNode",
    "FractionalChargeNode",
    "FractionalReadoutNode",
]

#: The SpikingJelly memory that carries a ``BaseNode``'s fractional past.
STATE = "frac_state"

_RESET_FIX = "functional.reset_net(net) (or node.reset())"


class FractionalNode:
    """Common part: construction, the increment scale, reset, detach, pickling.

    The generated class (:func:`fracneuron_spikingjelly.factory.fractional_class`) is
    ``Fractional<Native>(<kind mixin>, <Native>)`` and sets ``native_class``.
    """

    native_class: type
    memory: FractionalMemory

    def __init__(
        self,
        *args,
        alpha: float | Sequence[float] | torch.Tensor = 1.0,
        memory: str = "exact",
        learn_alpha: bool = False,
        coefficients: Sequence[float] | None = None,
        learn_coefficients: bool = False,
        per_neuron: bool = False,
        memory_options: dict | None = None,
        **kwargs,
    ) -> None:
        """The native constructor's arguments (``*args``, ``**kwargs``) plus the fractional ones:

        alpha: order in (0, 1]; a list for a multi-term derivative Σ c_i D^{α_i} (with
            ``coefficients``); a tensor for per-neuron orders. 1.0 (fixed) is the native node.
        memory: history engine name (``"exact"``, ``"window"``, a plugin's) or instance;
            ``memory_options`` are its keyword arguments (``{"window": 32}``).
        learn_alpha, learn_coefficients: train α (kept in (0, 1]) / the coefficients (kept > 0).
        per_neuron: one α per neuron, shaped by the first input (run one step before building
            the optimizer when it is also learnable).
        """
        options = FractionalOptions(
            alpha=alpha,
            memory=memory,
            coefficients=coefficients,
            learn_alpha=learn_alpha,
            learn_coefficients=learn_coefficients,
            per_neuron=per_neuron,
            memory_options=memory_options,
        )
        fractional_memory = FractionalMemory.from_options(options.validate())  # before the native constructor runs
        super().__init__(*args, **kwargs)
        self.attach_memory(fractional_memory)

    def attach_memory(self, memory: FractionalMemory) -> None:
        """Use ``memory`` from now on (a new sequence starts)."""
        self.memory = memory

    @property
    def multi_step_path(self) -> str:
        """How a new sequence runs in 'm' mode: ``"native"`` (a fixed α = 1: the native node's own
        computation), ``"fused"`` (one autograd node, :mod:`fracneuron_spikingjelly.fused`) or
        ``"stepped"`` (one recorded step at a time); ``repr`` ends with it."""
        return "native" if self.memory.is_markovian else "stepped"

    def extra_repr(self) -> str:
        native = super().extra_repr()
        return f"{native}, multi_step_path={self.multi_step_path}" if native else f"multi_step_path={self.multi_step_path}"

    def fractional_potential(self, v: torch.Tensor, charged: torch.Tensor, correction: torch.Tensor) -> torch.Tensor:
        """H = v + s·Δ + c from the native charged potential ``charged`` = v + Δ (the one formula,
        :func:`fracneuron.functional.fractional_potential`; with s = 1: ``charged + c``, the native
        arithmetic plus one addition)."""
        return fractional_potential(v, correction, self.memory.increment_scale(charged), charged=charged)

    def reset(self) -> None:
        native_reset = getattr(super(), "reset", None)
        if native_reset is not None:
            native_reset()
        self.memory.reset()

    def detach(self) -> None:
        native_detach = getattr(super(), "detach", None)
        if native_detach is not None:
            native_detach()
        self.memory.detach()



def _history_input(v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """v in the floating dtype of the charged potential ``like``: SpikingJelly materializes v in
    the input's dtype, so an integer input leaves v (and an IF node's charge) integer before the
    first reset makes them float."""
    dtype = like.dtype if like.is_floating_point() else torch.get_default_dtype()
    return v if v.dtype == dtype else v.to(dtype)


def step_through(node: MemoryModule, inputs, states, **kwargs):
    """The multi-step functional forward as a loop of single steps.

    Like ``MemoryModule.multi_step_functional_forward``, but the time steps come from ``unbind``:
    indexing ``x[t]`` would make the backward pass add T full-size zero gradients (O(T²)). No
    time steps: no spikes, the states as they were.
    """
    if inputs[0].shape[0] == 0:
        return (torch.empty_like(inputs[0]),), states
    outputs = []
    for step_inputs in zip(*(x.unbind(0) for x in inputs)):
        step_outputs, states = node.single_step_functional_forward(step_inputs, states, **kwargs)
        outputs.append(step_outputs)
    return tuple(torch.stack(sequence) for sequence in zip(*outputs)), states


def _forks_in_place(engine: MemoryEngine) -> bool:
    """Can this engine fork cheaply (the built-ins), or would a fork copy its whole past?"""
    return type(engine).fork is not MemoryEngine.fork


class FractionalBaseNode(FractionalNode):
    """``BaseNode`` family: one step is charge → fractional H → fire → reset, on explicit state.

    Fire and reset are SpikingJelly's: spike = ``surrogate_function(H − v_threshold)``, then
    ``functional.voltage_reset`` (hard or soft, ``detach_reset``). Both functional forwards are
    overridden, so 's' and 'm' modes (and ``store_v_seq``) take the same per-step path; the
    fractional past is the ``frac_state`` memory (see the module docstring).
    Subclasses say how the node charges: :meth:`charge`.
    """

    _frac_own_step = False  # inside the node's own forward (not a functional call)

    def charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The native charged potential H(x, v)."""
        raise NotImplementedError

    # -------------------------------------------------------------- the state
    def attach_memory(self, memory: FractionalMemory) -> None:
        super().attach_memory(memory)
        if STATE in self._memories:
            self._memories[STATE] = None
        self._frac_register()

    def _frac_register(self) -> None:
        """Give the node its ``frac_state`` memory once it has a fractional order."""
        if STATE not in self._memories and not self.memory.is_markovian:
            self.register_memory(STATE, None)

    def _frac_state_in(self, given) -> FractionalState:
        """The state this step advances: a new one, or a fork of the given one (never the given
        one itself; only the node's own steps advance a third-party engine that cannot fork
        cheaply in place)."""
        if given is None:
            return self.memory.new_state()
        if not isinstance(given, FractionalState):
            raise TypeError(f"{type(self).__name__}: the '{STATE}' state must be a FractionalState or None, got {type(given).__name__}")
        if self._frac_own_step and given is self.memory.state and not _forks_in_place(given.engine):
            return given
        return given.fork()

    def _frac_slot(self) -> int:
        if STATE not in self._memories:
            raise RuntimeError(
                f"{type(self).__name__} has no '{STATE}' state yet (its order was 1 when it was built): call "
                "node.reset() once before passing explicit states"
            )
        return list(self._memories).index(STATE)

    def reset(self) -> None:
        super().reset()  # SpikingJelly's reset sets frac_state to None: a new sequence
        self._frac_register()

    def detach(self) -> None:
        native_detach = getattr(super(FractionalNode, self), "detach", None)
        if native_detach is not None:
            native_detach()
        state = self._memories.get(STATE)
        if isinstance(state, FractionalState):
            self._memories[STATE] = self.memory.state = state.detached()

    def _apply(self, fn, *args, **kwargs):
        result = super()._apply(fn, *args, **kwargs)  # moves memory.state (the node's own) too
        state = self._memories.get(STATE)
        if isinstance(state, FractionalState) and state is not self.memory.state:
            self._memories[STATE] = state.moved(fn)
        return result

    # ---------------------------------------------------------------- the step
    def fractional_step(self, inputs, states):
        x, v = inputs[0], states[0]
        charged = self.charge(x, v)
        new_states = list(states)
        if not self.memory.is_markovian:
            slot = self._frac_slot()
            state = new_states[slot] = self._frac_state_in(states[slot])
            charged = self.fractional_potential(v, charged, self.memory.advance(state, _history_input(v, charged)))
        spike = self.surrogate_function(charged - self.v_threshold)
        new_states[0] = functional.voltage_reset(charged, spike, self.v_threshold, self.v_reset, self.detach_reset)
        return (spike,), tuple(new_states)

    def single_step_functional_forward(self, inputs, states, **kwargs):
        return self.fractional_step(inputs, states)

    def multi_step_functional_forward(self, inputs, states, **kwargs):
        return step_through(self, inputs, states, **kwargs)

    # --------------------------------------------- the node's own (stateful) forward
    def single_step_forward(self, x, *args, **kwargs):
        return self._own_step(super().single_step_forward, x, *args, **kwargs)

    def multi_step_forward(self, x_seq, *args, **kwargs):
        if self.memory.is_markovian:
            return super().multi_step_forward(x_seq, *args, **kwargs)
        if x_seq.shape[0] == 0:  # no time steps: no spikes, the state as it was
            return torch.empty_like(x_seq)
        state = self._memories.get(STATE)
        if isinstance(state, FractionalState):
            self.memory.check_continuation(state, x_seq.shape[0], _RESET_FIX)
        return self._own_step(super().multi_step_forward, x_seq, *args, **kwargs)

    def _own_step(self, forward, *args, **kwargs):
        self._frac_register()
        self._frac_own_step = True
        try:
            out = forward(*args, **kwargs)
        finally:
            self._frac_own_step = False
        state = self._memories.get(STATE)
        if state is not None:
            self.memory.state = state  # the running sequence is the node's memory's too
        return out


class FractionalTransitionNode(FractionalBaseNode):
    """IF/LIF/PLIF: ``charge`` is the native transition's charge (set by the factory from
    :data:`fracneuron_spikingjelly.native_charges.CHARGES`). At a fixed α = 1 the native fused
    transition runs instead, so the node is the native one bit for bit. In 'm' mode a sequence
    runs as one autograd node when it can (:mod:`fracneuron_spikingjelly.fused`; ``repr`` shows
    ``multi_step_path``); ``fused_multi_step = False`` steps it."""

    fused_multi_step = True

    def single_step_functional_forward(self, inputs, states, **kwargs):
        if self.memory.is_markovian:
            return self._native(self.native_class.single_step_functional_forward, inputs, states, **kwargs)
        return self.fractional_step(inputs, states)

    def multi_step_functional_forward(self, inputs, states, **kwargs):
        if self.memory.is_markovian:
            return self._native(self.native_class.multi_step_functional_forward, inputs, states, **kwargs)
        if can_fuse(self, FractionalTransitionNode, inputs, states, kwargs):  # the whole sequence as one autograd node
            return run_fused(self, inputs, states)
        return step_through(self, inputs, states, **kwargs)

    @property
    def multi_step_path(self) -> str:
        return sequence_path(self, FractionalTransitionNode)

    def _native(self, transition, inputs, states, **kwargs):
        """The native transition on the native states (``frac_state``, if registered, passed by)."""
        if STATE not in self._memories:
            return transition(self, inputs, states, **kwargs)
        slot = list(self._memories).index(STATE)
        outputs, native = transition(self, inputs, states[:slot] + states[slot + 1 :], **kwargs)
        return outputs, (*native[:slot], states[slot], *native[slot:])


class FractionalBaseChargeNode(FractionalBaseNode):
    """A ``BaseNode`` subclass with ``neuronal_charge`` and no transition of its own (the
    SpikingJelly < 2.0 way), run as charge → fire → reset like ``SimpleBaseNode``."""

    def charge(self, x, v):
        memories = self._memories
        before = memories["v"]
        memories["v"] = v  # neuronal_charge reads and writes self.v
        try:
            self.neuronal_charge(x)
            return memories["v"]
        finally:
            memories["v"] = before


class FractionalChargeNode(FractionalNode):
    """Nodes with ``neuronal_charge`` (``SimpleBaseNode`` family, readouts): the charged
    potential is made fractional right after the node's own charge. Their state lives in the
    module (SpikingJelly gives these nodes no functional forward); the fractional past is
    ``node.memory.state``."""

    def neuronal_charge(self, x: torch.Tensor) -> None:
        if self.memory.is_markovian:
            return super().neuronal_charge(x)
        v = self.v
        if not isinstance(v, torch.Tensor):  # the float reset value before the first step
            v = torch.full_like(x, v)
        elif v.shape != x.shape:
            raise StateShapeError(
                f"{type(self).__name__}: input shape {tuple(x.shape)} does not match the membrane "
                f"state {tuple(v.shape)} (batch size changed in the middle of a sequence?); call "
                f"spikingjelly {_RESET_FIX} before a new batch"
            )
        super().neuronal_charge(x)
        self.v = self.fractional_potential(v, self.v, self.memory(_history_input(v, self.v)))

    def multi_step_forward(self, x_seq: torch.Tensor, *args, **kwargs):
        if self.memory.is_markovian:
            return super().multi_step_forward(x_seq, *args, **kwargs)
        if x_seq.shape[0] == 0:  # no time steps: no spikes, the state as it was
            return torch.empty_like(x_seq)
        self.memory.check_continuation(self.memory.state, x_seq.shape[0], _RESET_FIX)
        return super().multi_step_forward(x_seq, *args, **kwargs)


class FractionalReadoutNode(FractionalChargeNode):
    """``NonSpikingBaseNode`` readouts restart ``v`` at every call; so does the history."""

    def forward(self, x_seq: torch.Tensor):
        if x_seq.shape[0] == 0:
            raise ValueError(
                f"{type(self).__name__} reads out a sequence x_seq [T, ...]: it needs T >= 1 steps, got shape {tuple(x_seq.shape)}"
            )
        self.memory.reset()
        return super().forward(x_seq)
