r"""The interface every memory engine implements, and the module that pairs one with an order.

The one formula (DESIGN.md). A neuron advances its membrane by the framework's own increment
Δ_n = h·f(v_{n-1}, x_n). Caputo's derivative acts on v − v(0), so the history is measured from
the **anchor** a = v_0, the membrane at the start of the sequence (for a sequence that starts at
rest, a is the rest / reset level). With u = v − a the fractional step is

    H_n = a + s Δ_n − Σ_{k=1}^{n} w̃_k u_{n-k}
        = v_{n-1} + s Δ_n + c_n,           c_n = −Σ_{k=1}^{n} ω_k u_{n-k}

with the weights of :mod:`fracneuron.weights` (ω_1 = w̃_1 + 1, ω_k = w̃_k for k ≥ 2; s = h^{α−1}).
H_n is the pre-spike potential; the framework fires and resets on it, and the post-reset v_n is
the next step's v_{n-1}. A membrane that starts away from rest with no drive stays where it
started, as the Caputo derivative of a constant is 0. At α = 1, s = 1 and c_n = 0 exactly: the
native neuron, bit for bit.

An engine owns the past u_0, u_1, … of one state tensor and returns c_n. It is called once per
step with the state the step starts from (so the first call also records the initial state):

    c = engine.correction(u_prev, order)        # u_prev = v_{n-1} − a, shape [batch, *features]

:class:`FractionalMemory` keeps the anchor and hands the engine u. Engines differ in what they
keep (all of it, a window, K exponential modes) and register by name through the
``fracneuron_register_memories`` hook.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..order import FractionalOrder

__all__ = ["MemoryEngine", "FractionalMemory", "StateShapeError"]


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


def _engine(name: str, options: dict) -> MemoryEngine:
    from ..plugins import memories

    factory = memories.get(name)
    try:
        return factory(**options)
    except TypeError as exc:
        raise TypeError(f"invalid options for memory {name!r}: {exc}") from None


class FractionalMemory(nn.Module):
    r"""A fractional order plus the engine that remembers the past: the piece every neuron embeds.

    Args:
        alpha, coefficients, learn_alpha, learn_coefficients, per_neuron, step_size: see
            :class:`~fracneuron.order.FractionalOrder`.
        memory: engine name (``"exact"``, ``"window"``, ``"soe"``, or a plugin's) or an engine
            instance.
        memory_options: keyword arguments of the engine (``window=32`` for ``"window"``, say).

    Call it with the membrane v_{n-1} a step starts from; it returns c_n (``None`` when the order
    is Markovian, α = 1: then no history is kept at all and nothing is added). The first call of a
    sequence (after construction or :meth:`reset`) takes its state as the anchor a, so every later
    state enters the history as u = v − a. :meth:`step` applies the whole formula
    H_n = v_{n-1} + s Δ_n + c_n.
    """

    def __init__(
        self,
        alpha: float | Sequence[float] | torch.Tensor = 1.0,
        memory: str | MemoryEngine = "exact",
        *,
        coefficients: Sequence[float] | torch.Tensor | None = None,
        learn_alpha: bool = False,
        learn_coefficients: bool = False,
        per_neuron: bool = False,
        step_size: float = 1.0,
        memory_options: dict | None = None,
    ) -> None:
        super().__init__()
        self.order = FractionalOrder(
            alpha,
            coefficients,
            learn_alpha=learn_alpha,
            learn_coefficients=learn_coefficients,
            per_neuron=per_neuron,
            step_size=step_size,
        )
        if isinstance(memory, MemoryEngine):
            if memory_options:
                raise ValueError("memory_options are for a memory given by name, not an engine instance")
            self.engine = memory
        elif isinstance(memory, str):
            self.engine = _engine(memory, dict(memory_options or {}))
        else:
            raise TypeError(f"memory must be an engine name or a MemoryEngine, got {type(memory).__name__}")
        #: v_0 of the running sequence (Caputo's anchor); None before its first step
        self.anchor: torch.Tensor | None = None
        #: steps since the last reset() or detach() (the span a backward pass reaches through)
        self.steps_since_cut = 0

    @property
    def alpha(self) -> torch.Tensor:
        return self.order.alpha

    @property
    def is_markovian(self) -> bool:
        return self.order.is_markovian

    def forward(self, v_prev: torch.Tensor) -> torch.Tensor | None:
        """c_n for the step that starts from the membrane ``v_prev`` = v_{n-1} (``None`` at α = 1)."""
        if self.order.is_markovian:
            return None
        if self.order.per_neuron and not self.order.is_materialized:
            self.order.materialize(v_prev.shape[1:])
        if self.anchor is None or self.engine.steps == 0:  # a new sequence: its first state anchors it
            self.anchor = v_prev
        elif self.anchor.shape != v_prev.shape:
            self.engine.check_shape(v_prev)  # the engine's own message names the fix
        self.steps_since_cut += 1
        return self.engine.correction(v_prev - self.anchor, self.order)

    def increment_scale(self, like: torch.Tensor) -> torch.Tensor | float:
        """s in H_n = v_{n-1} + s Δ_n + c_n (the float 1.0 when Markovian)."""
        return self.order.increment_scale(like.dtype, like.device)

    def step(self, v_prev: torch.Tensor, increment: torch.Tensor) -> torch.Tensor:
        r"""Pre-spike potential H_n = v_{n-1} + s Δ_n + c_n for the increment Δ_n = h f(v_{n-1}, x_n)."""
        correction = self(v_prev)
        if correction is None:
            return v_prev + increment
        return v_prev + self.increment_scale(v_prev) * increment + correction

    def charge(
        self,
        v_prev: torch.Tensor,
        rhs: Callable[[torch.Tensor], torch.Tensor],
        step_size: float,
    ) -> torch.Tensor:
        r"""Pre-spike potential of one step of D^α v = rhs(v) from ``v_prev``: the explicit GL step
        :meth:`step` with the increment Δ_n = h·rhs(v_{n-1}).

        A neuron hands its right-hand side over instead of the increment so that a memory using
        another scheme (:class:`fracneuron.solvers.MethodMemory`: L1, product integration) may
        evaluate it at other potentials.
        """
        return self.step(v_prev, step_size * rhs(v_prev))

    def reset(self) -> None:
        self.engine.reset()
        self.anchor = None
        self.steps_since_cut = 0

    def detach(self) -> None:
        self.engine.detach()
        if self.anchor is not None:
            self.anchor = self.anchor.detach()
        self.steps_since_cut = 0

    @property
    def steps(self) -> int:
        return self.engine.steps

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.engine.apply(fn)
        if self.anchor is not None:
            self.anchor = fn(self.anchor)
        return self

    def __getstate__(self):
        # deepcopy/pickle carry the anchor's value, never its autograd graph
        state = self.__dict__.copy()
        if state.get("anchor") is not None:
            state["anchor"] = state["anchor"].detach()
        return state

    def extra_repr(self) -> str:
        return f"memory={self.engine.describe()}"
