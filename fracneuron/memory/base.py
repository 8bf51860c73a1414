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

A :class:`FractionalMemory` pairs the order (α, coefficients: module parameters) with the past
of the running sequence, a :class:`~fracneuron.memory.state.FractionalState` (the engine of
:mod:`fracneuron.memory.engine` that stores u_0 … u_{n-1}, and the anchor). A neuron that owns
its state calls ``memory(v_prev)``; one whose state travels explicitly (SpikingJelly's functional
forward) calls ``memory.advance(state, v_prev)`` on a state it forked.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..functional.step import fractional_potential
from ..options import FractionalOptions
from ..order import FractionalOrder
from .engine import MemoryEngine, StateShapeError, engine_named
from .state import FractionalState

__all__ = ["MemoryEngine", "FractionalMemory", "FractionalState", "StateShapeError", "RUNAWAY"]

#: A multi-step call continuing a history this many times its own length, with no reset or detach
#: in between, is warned about (once per memory).
RUNAWAY = 50


class FractionalMemory(nn.Module):
    r"""A fractional order plus the past of the running sequence: the piece every neuron embeds.

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
    H_n = v_{n-1} + s Δ_n + c_n. The running sequence is :attr:`state`.
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
            engine = memory
        elif isinstance(memory, str):
            engine = engine_named(memory, dict(memory_options or {}))
        else:
            raise TypeError(f"memory must be an engine name or a MemoryEngine, got {type(memory).__name__}")
        #: the running sequence (its engine and anchor)
        self.state = FractionalState(engine)
        self._warned_runaway = False

    @classmethod
    def from_options(cls, options: FractionalOptions, step_size: float = 1.0) -> "FractionalMemory":
        """The memory :class:`~fracneuron.options.FractionalOptions` describe, on a grid of step h."""
        return cls(**options.memory_kwargs(), step_size=step_size)

    # ------------------------------------------------------------------ views
    @property
    def engine(self) -> MemoryEngine:
        """The running sequence's history engine."""
        return self.state.engine

    @engine.setter
    def engine(self, engine: MemoryEngine) -> None:
        self.state.engine = engine

    @property
    def anchor(self) -> torch.Tensor | None:
        """v_0 of the running sequence (Caputo's anchor); ``None`` before its first step."""
        return self.state.anchor

    @property
    def steps_since_cut(self) -> int:
        """Steps since the running sequence began or was last detached."""
        return self.state.since_cut

    @property
    def alpha(self) -> torch.Tensor:
        return self.order.alpha

    @property
    def is_markovian(self) -> bool:
        return self.order.is_markovian

    @property
    def steps(self) -> int:
        return self.state.steps

    def new_state(self) -> FractionalState:
        """An empty state for a new sequence (a fresh engine with this memory's options)."""
        return FractionalState(self.state.engine.spawn())

    # --------------------------------------------------------------- stepping
    def advance(self, state: FractionalState, v_prev: torch.Tensor) -> torch.Tensor:
        """c_n of the step from ``v_prev`` = v_{n-1}, advancing ``state`` (fork it first to keep
        it); the first step of a sequence anchors it at ``v_prev``."""
        if self.order.per_neuron and not self.order.is_materialized:
            self.order.materialize(v_prev.shape[1:])
        if state.anchor is None or state.engine.steps == 0:  # a new sequence: its first state anchors it
            self.order.check_fits(v_prev.shape[1:])
            state.anchor = v_prev
        elif state.anchor.shape != v_prev.shape:
            state.engine.check_shape(v_prev)  # the engine's own message names the fix
        state.since_cut += 1
        return state.engine.correction(v_prev - state.anchor, self.order)

    def forward(self, v_prev: torch.Tensor) -> torch.Tensor | None:
        """c_n for the step that starts from the membrane ``v_prev`` = v_{n-1} (``None`` at α = 1)."""
        if self.order.is_markovian:
            return None
        return self.advance(self.state, v_prev)

    def increment_scale(self, like: torch.Tensor) -> torch.Tensor | None:
        """s in H_n = v_{n-1} + s Δ_n + c_n in ``like``'s dtype; ``None`` when s = 1 exactly."""
        if self.order.unit_scale:
            return None
        return self.order.increment_scale(like.dtype, like.device)

    def step(self, v_prev: torch.Tensor, increment: torch.Tensor) -> torch.Tensor:
        r"""Pre-spike potential H_n = v_{n-1} + s Δ_n + c_n for the increment Δ_n = h f(v_{n-1}, x_n)."""
        return fractional_potential(v_prev, self(v_prev), self.increment_scale(v_prev), increment=increment)

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

    # ------------------------------------------------------------ bookkeeping
    def reset(self) -> None:
        """Forget the running sequence: the next step starts a new one, in a new state (the old
        state object is left as it was, for whoever still holds it)."""
        self.state = self.new_state()

    def check_continuation(self, state: FractionalState, call_steps: int, fix: str) -> None:
        """Warn once when a multi-step call continues a history already ``RUNAWAY`` times longer
        than the call with no reset or detach in between: a forgotten reset makes the history (and
        its memory) grow with every batch. ``fix`` names the call that starts a new sequence."""
        if call_steps > 0 and state.since_cut >= RUNAWAY * call_steps and not self._warned_runaway:
            self._warned_runaway = True
            warnings.warn(
                f"a {call_steps}-step call continues a fractional history of {state.since_cut} steps with no "
                f"reset or detach in between, so the history keeps growing with every call; if each call "
                f"is a new sequence (a new batch), start it with {fix}; for truncated BPTT over one long "
                "sequence, detach between chunks",
                RuntimeWarning,
                stacklevel=4,
            )

    def detach(self) -> None:
        """Keep the running sequence's values, cut its autograd graph (truncated BPTT)."""
        self.state.engine.detach()
        if self.state.anchor is not None:
            self.state.anchor = self.state.anchor.detach()
        self.state.since_cut = 0

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        self.state.engine.apply(fn)
        if self.state.anchor is not None:
            self.state.anchor = fn(self.state.anchor)
        return self

    def __getstate__(self):
        # deepcopy/pickle carry the anchor's value, never its autograd graph
        state = self.__dict__.copy()
        running = state["state"]
        anchor = None if running.anchor is None else running.anchor.detach()
        state["state"] = FractionalState(running.engine, anchor, running.since_cut)
        return state

    def extra_repr(self) -> str:
        return f"memory={self.engine.describe()}"
