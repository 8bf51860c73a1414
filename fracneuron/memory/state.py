r"""The explicit state of one running fractional sequence: its history engine and its anchor.

A neuron's fractional memory is two things: the order (α, coefficients — module parameters) and
the past of the sequence now running. :class:`FractionalState` is the second: the engine holding
u_0 … u_{n-1} (u = v − a) and the anchor a = v_0 (Caputo: the membrane the sequence started from).

It is what travels in SpikingJelly's explicit states (``node.functional_forward(inputs,
states)``), so it is persistent: :meth:`FractionalState.fork` gives an independent state (O(1)
for the built-in engines, which share their stored past copy-on-write) and a step advances the
fork, never the state it was given. ``torch.allclose`` and ``torch.equal`` compare two states
(their step counts, anchors and stored pasts), as SpikingJelly's tests compare explicit states.
"""

from __future__ import annotations

import torch

from .engine import MemoryEngine

__all__ = ["FractionalState"]


class FractionalState:
    """The past of one sequence: ``engine`` (its stored history), ``anchor`` (v_0, ``None`` before
    the first step), ``since_cut`` (steps since the sequence began or was last detached) and
    ``zero_anchor`` (the anchor is +0 everywhere and needs no gradient, so u = v − a is v itself,
    bit for bit: the step skips the subtraction and its autograd node)."""

    __slots__ = ("engine", "anchor", "since_cut", "zero_anchor", "links")

    def __init__(
        self,
        engine: MemoryEngine,
        anchor: torch.Tensor | None = None,
        since_cut: int = 0,
        zero_anchor: bool = False,
        links: tuple = (),
    ) -> None:
        self.engine = engine
        self.anchor = anchor
        self.since_cut = since_cut
        self.zero_anchor = zero_anchor
        #: the states of the sequence's fused calls since it began or was last detached, each with
        #: its autograd graph (:mod:`fracneuron.functional.sequence`): how a later call's gradient
        #: reaches them through the memory
        self.links = links

    def set_anchor(self, anchor: torch.Tensor) -> None:
        """Anchor a new sequence at ``anchor`` (its first state). Whether it is +0 everywhere is
        read here, once per sequence (not while compiling: there the subtraction stays)."""
        self.anchor = anchor
        self.zero_anchor = (
            not anchor.requires_grad
            and not torch.compiler.is_compiling()
            and not bool(torch.any((anchor != 0) | torch.signbit(anchor)))
        )

    def deviation(self, v: torch.Tensor) -> torch.Tensor:
        """u = v − a, the state the history stores (``v`` itself when the anchor is +0)."""
        return v if self.zero_anchor else v - self.anchor

    @property
    def steps(self) -> int:
        """States recorded since the sequence began (0: the next step starts it)."""
        return self.engine.steps

    def fork(self) -> "FractionalState":
        """An independent state continuing the same sequence (this one is left as it is)."""
        return FractionalState(self.engine.fork(), self.anchor, self.since_cut, self.zero_anchor, self.links)

    def detached(self) -> "FractionalState":
        """The same past without its autograd graph (truncated BPTT), as a new state."""
        engine = self.engine.fork()
        engine.detach()
        anchor = None if self.anchor is None else self.anchor.detach()
        return FractionalState(engine, anchor, 0, self.zero_anchor)

    def moved(self, fn) -> "FractionalState":
        """The same past converted by ``fn`` (``.to()``, ``.double()``), as a new state."""
        engine = self.engine.fork()
        engine.apply(fn)
        return FractionalState(engine, None if self.anchor is None else fn(self.anchor), self.since_cut)

    def __repr__(self) -> str:
        shape = None if self.anchor is None else tuple(self.anchor.shape)
        return f"FractionalState({self.engine.describe()}, steps={self.steps}, shape={shape})"

    # ---------------------------------------------------------------- comparison
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return _same(func, args[0], args[1], **(kwargs or {}))
        return NotImplemented


def _values(state) -> tuple:
    return state.steps, state.anchor, state.engine.state_values()


def _same(func, a, b, **kwargs) -> bool:
    """``torch.allclose``/``torch.equal`` of two states: same step count, and close (equal)
    anchors and stored pasts."""
    if not (isinstance(a, FractionalState) and isinstance(b, FractionalState)):
        return False
    (na, *ta), (nb, *tb) = _values(a), _values(b)
    if na != nb:
        return False
    for x, y in zip(ta, tb):
        if (x is None) != (y is None):
            return False
        if x is not None and (x.shape != y.shape or not func(x, y, **kwargs)):
            return False
    return True
