r"""Mixins that give a SpikingJelly node fractional memory, one per kind of node.

Every fractional node holds a :class:`~fracneuron.memory.FractionalMemory` as ``node.memory``
and applies DESIGN.md's formula at the one place its membrane is charged:

    H_n = v_{n-1} + s·Δ_n + c_n,      c_n = memory(v_{n-1}) = −Σ_k ω_k (v_{n-1-k} − v_0)

with Δ_n the node's own charge increment and v_0 the membrane the sequence started from (Caputo's
anchor: the reset value ``v_reset``, or 0 for a soft reset and the readouts, unless ``node.v`` was
set to another tensor before the first step). The memory is asked once per step, before charging,
with the state the step starts from. At a fixed α = 1 the memory is Markovian and the node runs its native
code untouched, so it is the native node bit for bit.

``reset()`` (and so ``functional.reset_net``) forgets the history; ``detach()`` (and
``functional.detach_net``) cuts its autograd graph for truncated BPTT; ``.to()``/``.double()``
move it. A batch-size change without a reset raises
:class:`~fracneuron.memory.base.StateShapeError` instead of silently restarting ``v``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spikingjelly.activation_based import functional
from spikingjelly.activation_based.base import MemoryModule

from fracneuron.memory import FractionalMemory
from fracneuron.memory.base import StateShapeError

__all__ = [
    "FractionalNode",
    "FractionalBaseNode",
    "FractionalTransitionNode",
    "FractionalBaseChargeNode",
    "FractionalChargeNode",
    "FractionalReadoutNode",
]


class FractionalNode:
    """Common part: construction, the rest level, the increment scale, reset, detach, pickling.

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
        fractional_memory = FractionalMemory(  # validates before the native constructor runs
            alpha,
            memory,
            coefficients=coefficients,
            learn_alpha=learn_alpha,
            learn_coefficients=learn_coefficients,
            per_neuron=per_neuron,
            memory_options=memory_options,
        )
        super().__init__(*args, **kwargs)
        self.memory = fractional_memory

    def memory_correction(self, v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """c_n for the step that starts from ``v`` (records v − v_0 in the history), in the dtype of
        the charged potential ``like`` (an integer input leaves v integer before its first charge)."""
        return self.memory(v if v.dtype == like.dtype else v.to(like.dtype))

    def increment_scale(self, like: torch.Tensor) -> torch.Tensor | None:
        """s in H = v + s·Δ + c; None when s = 1 exactly (one term, unit step: s = 1^(α−1))."""
        order = self.memory.order
        if order.terms == 1 and order.coefficients() is None and order.step_size == 1.0:
            return None
        return self.memory.increment_scale(like)

    def fractional_potential(self, v: torch.Tensor, charged: torch.Tensor, correction: torch.Tensor) -> torch.Tensor:
        """H = v + s·Δ + c from the native charged potential ``charged`` = v + Δ.

        With s = 1 this is ``charged + c``: the native arithmetic plus one addition (exact at
        α = 1, where c = 0)."""
        scale = self.increment_scale(charged)
        if scale is None:
            return charged + correction
        return v + scale * (charged - v) + correction

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

    def __reduce_ex__(self, protocol):
        # The generated class cannot be found by name: unpickling rebuilds it from the native one.
        _, _, *state = super().__reduce_ex__(protocol)
        return (_new_node, (self.native_class,), *state)


def _new_node(native_class: type):
    from .factory import fractional_class

    cls = fractional_class(native_class)
    return cls.__new__(cls)


def step_through(node: MemoryModule, inputs, states, **kwargs):
    """The multi-step functional forward as a loop of single steps.

    Like ``MemoryModule.multi_step_functional_forward``, but the time steps come from ``unbind``:
    indexing ``x[t]`` would make the backward pass add T full-size zero gradients (O(T²)).
    """
    outputs = []
    for step_inputs in zip(*(x.unbind(0) for x in inputs)):
        step_outputs, states = node.single_step_functional_forward(step_inputs, states, **kwargs)
        outputs.append(step_outputs)
    return tuple(torch.stack(sequence) for sequence in zip(*outputs)), states


class FractionalBaseNode(FractionalNode):
    """``BaseNode`` family: one step is charge → fractional H → fire → reset, on explicit state.

    Fire and reset are SpikingJelly's: spike = ``surrogate_function(H − v_threshold)``, then
    ``functional.voltage_reset`` (hard or soft, ``detach_reset``). Both functional forwards are
    overridden, so 's' and 'm' modes (and ``store_v_seq``) take the same per-step path.
    Subclasses say how the node charges: :meth:`charge`.
    """

    def charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """The native charged potential H(x, v)."""
        raise NotImplementedError

    def fractional_step(self, inputs, states):
        x, v = inputs[0], states[0]
        charged = self.charge(x, v)
        if not self.memory.is_markovian:
            charged = self.fractional_potential(v, charged, self.memory_correction(v, charged))
        spike = self.surrogate_function(charged - self.v_threshold)
        v = functional.voltage_reset(charged, spike, self.v_threshold, self.v_reset, self.detach_reset)
        return (spike,), (v, *states[1:])

    def single_step_functional_forward(self, inputs, states, **kwargs):
        return self.fractional_step(inputs, states)

    def multi_step_functional_forward(self, inputs, states, **kwargs):
        return step_through(self, inputs, states, **kwargs)


class FractionalTransitionNode(FractionalBaseNode):
    """IF/LIF/PLIF: ``charge`` is the native transition's charge (set by the factory from
    :data:`fracneuron_spikingjelly.transition.CHARGES`). At a fixed α = 1 the native fused
    transition runs instead, so the node is the native one bit for bit."""

    def single_step_functional_forward(self, inputs, states, **kwargs):
        if self.memory.is_markovian:
            return self.native_class.single_step_functional_forward(self, inputs, states, **kwargs)
        return self.fractional_step(inputs, states)

    def multi_step_functional_forward(self, inputs, states, **kwargs):
        if self.memory.is_markovian:
            return self.native_class.multi_step_functional_forward(self, inputs, states, **kwargs)
        return step_through(self, inputs, states, **kwargs)


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
    potential is made fractional right after the node's own charge."""

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
                "spikingjelly functional.reset_net(net) (or node.reset()) before a new batch"
            )
        super().neuronal_charge(x)
        self.v = self.fractional_potential(v, self.v, self.memory_correction(v, self.v))


class FractionalReadoutNode(FractionalChargeNode):
    """``NonSpikingBaseNode`` readouts restart ``v`` at every call; so does the history."""

    def forward(self, x_seq: torch.Tensor):
        self.memory.reset()
        return super().forward(x_seq)
