r"""What a memory engine is: the history of one state tensor, behind one small interface.

An engine owns the past u_0, u_1, … of one state tensor (u = v − a, the anchor a kept by
:class:`~fracneuron.memory.FractionalMemory`) and returns the correction c_n of the fractional
step. It is called once per step with the state the step starts from:

    c = engine.correction(u_prev, order)        # u_prev = u_{n-1}, shape [batch, *features]

Engines differ in what they keep (all of it, a window, K exponential modes) and register by name
through the ``fracneuron_register_memories`` hook; :func:`engine_named` builds one.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # annotations only: the order module sits above the engines' protocol
    from ..order import FractionalOrder

__all__ = ["MemoryEngine", "StateShapeError", "engine_for", "engine_named"]


class StateShapeError(ValueError):
    """The state changed shape (batch size, say) in the middle of a sequence."""


class MemoryEngine(ABC):
    """History of one state tensor; computes the fractional correction c_n.

    Subclasses set ``name`` and implement :meth:`correction`, :meth:`reset`, :meth:`detach` and
    :meth:`apply`. Engines are plain objects (no parameters): α belongs to the
    :class:`~fracneuron.order.FractionalOrder` passed to every call.
    """

    name: str = "engine"

    @abstractmethod
    def correction(self, u_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        """Record ``u_prev`` (= u_{n-1}) and return c_n with the same shape."""

    @abstractmethod
    def reset(self) -> None:
        """Forget the whole past (a new sequence starts)."""

    @abstractmethod
    def detach(self) -> None:
        """Keep the past values but cut the autograd graph (truncated BPTT)."""

    @abstractmethod
    def apply(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Apply a tensor conversion (``.to``, ``.double()``, ``.cuda()``) to the stored past."""

    @property
    @abstractmethod
    def steps(self) -> int:
        """Number of states recorded since the last reset (0: a new sequence starts)."""

    @property
    def state_shape(self) -> torch.Size | None:
        """Shape of the recorded state, ``None`` before the first step."""
        return None

    def describe(self) -> str:
        """A short description for ``repr`` (options and size)."""
        return self.name

    def fork(self) -> "MemoryEngine":
        """An independent engine that continues this one's sequence (branching: a pure functional
        step advances a fork and leaves the original as it was).

        The built-in engines fork in O(1) (copy-on-write) and keep the autograd graph of the past.
        This default copies the engine (``copy.deepcopy``): correct values, but the gradient
        through the memory stops at the fork; engines that can share their past should override it.
        """
        return copy.deepcopy(self)

    def spawn(self) -> "MemoryEngine":
        """A new engine with this one's options and no past (a new sequence). Default: a copy,
        reset."""
        new = copy.deepcopy(self)
        new.reset()
        return new

    def adjoint(self) -> "MemoryEngine | None":
        """A new engine running this one's kernel on a fresh sequence, for the adjoint pass of a fused
        sequence (:mod:`fracneuron.functional.sequence`): fed the gradients ḡH backward in time, its
        corrections are Σ_k ρ_k ḡH_{n-1+k}. ``None`` (the default): the engine is not a linear
        convolution with a fixed kernel, and its neurons are stepped."""
        return None

    def begin_recording(self) -> None:
        """A fused sequence that records a graph starts here: do what a recorded step does first,
        so that its values are those of the stepped path (default: nothing)."""

    @property
    def has_graph(self) -> bool:
        """Whether the recorded past is part of an autograd graph (a fused sequence cannot continue it)."""
        return False

    def state_values(self) -> torch.Tensor | None:
        """The stored past as one tensor (compared by ``torch.allclose`` on explicit states);
        ``None`` when the engine has none to show."""
        return None

    def check_shape(self, u: torch.Tensor) -> None:
        """Raise :class:`StateShapeError` when ``u`` does not match the recorded state."""
        shape = self.state_shape
        if shape is not None and u.shape != shape:
            raise StateShapeError(
                f"state shape changed from {tuple(shape)} to {tuple(u.shape)} in the middle of a "
                "sequence; reset the memory first (module.reset(), spikingjelly "
                "functional.reset_net(net) or snntorch utils.reset(net)) to start a new batch"
            )

    @staticmethod
    def check_like(u: torch.Tensor, stored: torch.Tensor) -> None:
        """Raise ``ValueError`` when ``u`` has another dtype or device than the stored past."""
        if u.dtype != stored.dtype or u.device != stored.device:
            raise ValueError(
                f"state dtype/device changed from {stored.dtype}/{stored.device} to "
                f"{u.dtype}/{u.device} in the middle of a sequence; move the module "
                "with .to() or reset it first"
            )


def engine_named(name: str, options: dict) -> MemoryEngine:
    """The registered engine ``name`` built with ``options`` (``TypeError`` naming bad options)."""
    from ..plugins import memories

    factory = memories.get(name)
    try:
        return factory(**options)
    except TypeError as exc:
        raise TypeError(f"invalid options for memory {name!r}: {exc}") from None


def engine_for(memory, memory_options: dict | None):
    """The engine ``memory`` names (with its ``memory_options``), or ``memory`` itself when it is
    an engine instance; raises naming the argument otherwise."""
    if isinstance(memory, MemoryEngine):
        if memory_options:
            raise ValueError("memory_options are for a memory given by name, not an engine instance")
        return memory
    if isinstance(memory, str):
        return engine_named(memory, dict(memory_options or {}))
    raise TypeError(f"memory must be an engine name or a MemoryEngine, got {type(memory).__name__}")
