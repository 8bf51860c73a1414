r"""``FractionalMemory``: a fractional order, the past of the running sequence, and the scheme.

The one formula (DESIGN.md, :func:`fracneuron.functional.fractional_potential`). A neuron
advances its membrane by the framework's own increment Δ_n = h·f(v_{n-1}, x_n). Caputo's
derivative acts on v − v(0), so the history is measured from the **anchor** a = v_0, the membrane
at the start of the sequence (for a sequence that starts at rest, a is the rest / reset level).
With u = v − a the fractional step is

    H_n = a + s Δ_n − Σ_{k=1}^{n} w̃_k u_{n-k}
        = v_{n-1} + s Δ_n + c_n,           c_n = −Σ_{k=1}^{n} ω_k u_{n-k}

with the weights of :mod:`fracneuron.weights` (ω_1 = w̃_1 + 1, ω_k = w̃_k for k ≥ 2; s = h^{α−1}).
H_n is the pre-spike potential; the framework fires and resets on it, and the post-reset v_n is
the next step's v_{n-1}. A membrane that starts away from rest with no drive stays where it
started, as the Caputo derivative of a constant is 0. At α = 1, s = 1 and c_n = 0 exactly: the
native neuron, bit for bit.

A :class:`FractionalMemory` pairs the order (α, coefficients: module parameters) with the past of
the running sequence, a :class:`~fracneuron.memory.state.FractionalState` (the engine of
:mod:`fracneuron.memory.engine` that stores u_0 … u_{n-1}, and the anchor), and a *stepper*, the
scheme that charges: explicit Grünwald–Letnikov on that state by default, or one of ``fdeint``'s
methods (``l1``, ``pred``, ``abm``, ``trap``, and ``euler``/``rk4`` at α = 1) after
:meth:`FractionalMemory.use`, as ``SNNWrapper`` sets them. A neuron that owns its state calls
``memory.charge(v_prev, rhs, h)`` (or ``memory(v_prev)`` for c_n alone); one whose state travels
explicitly (SpikingJelly's functional forward) calls ``memory.advance(state, v_prev)`` on a state
it forked.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from ..functional.step import fractional_potential
from ..order import FractionalOrder
from .engine import MemoryEngine, engine_for
from .state import FractionalState

if TYPE_CHECKING:  # annotations only: the options sit above the memory
    from ..options import FractionalOptions

__all__ = ["FractionalMemory", "RUNAWAY"]

#: A multi-step call continuing a history this many times its own length, with no reset or detach
#: in between, is warned about (once per memory).
RUNAWAY = 50


def _check_links(state: FractionalState, v_prev: torch.Tensor) -> None:
    """A step outside a fused call continues fused calls (``state.links``,
    :mod:`fracneuron.functional.sequence`). Without a graph it keeps its place in the line of
    links (a graph-free one, merged with the step before if that was one too), so a later fused
    call's adjoint runs past it to the earlier calls. A recorded step stores their states as
    constants, so the gradient through the memory into them stops there: say so, and let go of
    the links (its graph now follows them: no fused call continues the state before ``detach()``)."""
    if not torch.is_grad_enabled():
        last = state.links[-1]
        steps = 1 + (last.shape[0] if not last.requires_grad else 0)
        place = v_prev.new_zeros(()).expand(steps, *v_prev.shape)
        state.links = (*state.links[:-1], place) if not last.requires_grad else (*state.links, place)
        return
    state.links = ()
    warnings.warn(
        "a recorded single step continues a fused multi-step call of the same sequence without "
        "detach(); the gradient through the fractional memory into that call is cut, as by "
        "detach(). Call detach() in between to make that explicit, run the steps in 'm' mode "
        "(fused calls continue each other with the full gradient), or turn the fused path off "
        "(fused_multi_step=False) for the full graph.",
        RuntimeWarning,
        stacklevel=4,
    )


class ExplicitGL:
    """The default stepper: explicit Grünwald–Letnikov on the memory's own state,
    H_n = v_{n-1} + s·h·f(v_{n-1}) + c_n. (It has the method protocol of
    :class:`fracneuron.solvers.FractionalMethod`: prepare → local → finish.)"""

    name = "gl"

    def __init__(self, memory: "FractionalMemory") -> None:
        self.memory = memory
        self._scale: tuple | None = None  # (key, s): s once per sequence, not once per step

    @property
    def n(self) -> int:
        return self.memory.state.steps

    def prepare(self, y_prev: torch.Tensor, rest: torch.Tensor) -> tuple:
        memory = self.memory
        if memory.order.is_markovian:
            return None, None
        correction = memory.state.engine.correction(y_prev - rest, memory.order)
        return correction, self._increment_scale(y_prev)

    def _increment_scale(self, like: torch.Tensor) -> torch.Tensor | None:
        # a learned α makes s a small graph of its own: build it once per sequence (or chunk)
        if torch.compiler.is_compiling():  # a compiled graph holds s itself
            return self.memory.increment_scale(like)
        key = (like.dtype, like.device, torch.is_grad_enabled())
        if self._scale is None or self._scale[0] != key:
            self._scale = (key, self.memory.increment_scale(like))
        return self._scale[1]

    def local(self, y_prev, g_prev, rhs, prepared):
        correction, scale = prepared
        return fractional_potential(y_prev, correction, scale, increment=self.memory.order.step_size * g_prev)

    def finish(self, y_new, g_prev, y_prev) -> None:
        pass

    def reset(self) -> None:
        self._scale = None  # the memory starts a new state; α may have changed

    def detach(self) -> None:
        self._scale = None  # its graph belongs to the chunk that ends here

    def apply(self, fn) -> None:
        pass

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_scale": None}  # copies rebuild s; never copy its graph


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
    H_n = v_{n-1} + s Δ_n + c_n; :meth:`charge` a step of the memory's scheme. The running
    sequence is :attr:`state`, the scheme :attr:`stepper` (:attr:`method` by name).
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
        engine = engine_for(memory, memory_options)
        #: the running sequence (its engine and anchor)
        self.state = FractionalState(engine)
        #: the scheme that charges (explicit GL on :attr:`state` until :meth:`use` picks another)
        self.stepper = ExplicitGL(self)
        self.method = "gl"
        self._injected: tuple | None = None  # a prepared step to use next (the adjoint's replay)
        self._replaying = False
        self.charges = 0  # charges since SNNWrapper last looked
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
        """Steps of the running sequence."""
        return self.stepper.n

    def new_state(self) -> FractionalState:
        """An empty state for a new sequence (a fresh engine with this memory's options)."""
        return FractionalState(self.state.engine.spawn())

    # ------------------------------------------------------------ the memory term
    def advance(self, state: FractionalState, v_prev: torch.Tensor) -> torch.Tensor:
        """c_n of the step from ``v_prev`` = v_{n-1}, advancing ``state`` (fork it first to keep
        it); the first step of a sequence anchors it at ``v_prev``."""
        if self.order.per_neuron and not self.order.is_materialized:
            self.order.materialize(v_prev.shape[1:])
        if state.anchor is None or state.engine.steps == 0:  # a new sequence: its first state anchors it
            self.order.check_fits(v_prev.shape[1:])
            state.set_anchor(v_prev)
        elif state.anchor.shape != v_prev.shape:
            state.engine.check_shape(v_prev)  # the engine's own message names the fix
        if state.links:
            _check_links(state, v_prev)
        state.since_cut += 1
        return state.engine.correction(state.deviation(v_prev), self.order)

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

    # ------------------------------------------------------------------ the scheme
    def use(self, stepper, method: str) -> None:
        """Charge with ``stepper`` (a :class:`fracneuron.solvers.FractionalMethod` over this
        memory's order, or :class:`ExplicitGL`) from now on, and start a new sequence; ``method``
        is its name. :func:`fracneuron.solvers.steppers.use_method` picks a stepper by name."""
        self.stepper = stepper
        self.method = method
        self.reset()

    def charge(self, v_prev: torch.Tensor, rhs: Callable[[torch.Tensor], torch.Tensor], step_size: float) -> torch.Tensor:
        r"""Pre-spike potential of one step of D^α v = rhs(v) from ``v_prev`` by the memory's
        scheme (explicit GL: H_n = v_{n-1} + s·h·rhs(v_{n-1}) + c_n).

        A neuron hands its right-hand side over instead of the increment so that an implicit or
        predictor–corrector scheme may evaluate it at other potentials.
        """
        self.check_step_size(step_size)
        stepper, prepared = self.take_step(v_prev)
        g_prev = rhs(v_prev)
        h = stepper.local(v_prev, g_prev, rhs, prepared)
        if not self._replaying:
            stepper.finish(h, g_prev, v_prev)
            self.charges += 1
        return h

    def check_step_size(self, step_size: float) -> None:
        """Refuse a neuron step h that is not the one the memory's weights were made for."""
        if step_size != self.order.step_size:
            raise ValueError(
                f"the neuron steps by {step_size} but its memory was set up for {self.order.step_size}; "
                "set the memory's step (memory.order.set_step_size, or use()) with the neuron's"
            )

    def take_step(self, v_prev: torch.Tensor) -> tuple:
        """(stepper, history part) of the step from ``v_prev``: the injected one (the adjoint's
        replay) or :meth:`prepare_step`'s. A caller that computes the local part itself (the lean
        neuron step) calls this, then :meth:`count_charge`."""
        if self._injected is not None:
            prepared, self._injected = self._injected, None
            return prepared
        return self.prepare_step(v_prev)

    def count_charge(self) -> None:
        """Book a charge computed outside :meth:`charge` (nothing while replaying)."""
        if not self._replaying:
            self.charges += 1

    def prepare_step(self, v_prev: torch.Tensor) -> tuple:
        """(stepper, history part) of the next step from ``v_prev``; extends the stored past. The
        first step of a sequence takes ``v_prev`` as the anchor its history is measured from."""
        if self.order.per_neuron and not self.order.is_materialized:
            self.order.materialize(v_prev.shape[1:])
        state = self.state
        if state.anchor is None or self.stepper.n == 0:
            self.order.check_fits(v_prev.shape[1:])
            state.anchor = v_prev
        elif state.anchor.shape != v_prev.shape:
            state.engine.check_shape(v_prev)
        if state.links:
            _check_links(state, v_prev)
        state.since_cut += 1
        return self.stepper, self.stepper.prepare(v_prev, state.anchor)

    def inject(self, prepared: tuple, replaying: bool) -> None:
        """Use ``prepared`` (from :meth:`prepare_step`) for the next charge; ``replaying``: the
        charge is a recomputation during the backward pass (remember nothing)."""
        self._injected = prepared
        self._replaying = replaying

    # ------------------------------------------------------------ bookkeeping
    def reset(self) -> None:
        """Forget the running sequence: the next step starts a new one, in a new state (the old
        state object is left as it was, for whoever still holds it)."""
        self.state = self.new_state()
        self.stepper.reset()
        self._injected, self._replaying, self.charges = None, False, 0

    def detach(self) -> None:
        """Keep the running sequence's values, cut its autograd graph (truncated BPTT)."""
        state = self.state
        state.engine.detach()
        if state.anchor is not None:
            state.anchor = state.anchor.detach()
        state.since_cut = 0
        state.links = ()
        self.stepper.detach()

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

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        state = self.state
        state.engine.apply(fn)
        if state.anchor is not None:
            state.anchor = fn(state.anchor)
        self.stepper.apply(fn)
        return self

    def __getstate__(self):
        # deepcopy/pickle carry the anchor's value, never its autograd graph
        state = self.__dict__.copy()
        running = state["state"]
        anchor = None if running.anchor is None else running.anchor.detach()
        # no links: a pickled state carries no graph
        state["state"] = FractionalState(running.engine, anchor, running.since_cut, running.zero_anchor)
        return state

    def extra_repr(self) -> str:
        method = "" if self.method == "gl" else f"method={self.method}, "
        return f"{method}memory={self.engine.describe()}"
