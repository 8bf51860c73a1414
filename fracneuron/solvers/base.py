r"""The shape every ``fdeint`` method has, and the one stepping loop they all share.

A method discretises the Caputo problem  Σ_i c_i D^{α_i} y = f(t, y),  y(t_0) = y_0  on a uniform
grid t_n = t_0 + n h. When ``options['linear'] = λ`` is given, f = −λ·y + g and the caller's
function is g; methods that allow it take the linear part implicitly.

Each step n (y_{n-1} → y_n) has three phases, so that the same method serves ``fdeint``, its
adjoint (which recomputes the middle phase during the backward pass) and a neuron's charge:

    prepared = method.prepare(y_prev, rest)          # history sums; reads and extends the past
    y_new    = method.local(y_prev, g_prev, rhs, prepared)
                                                      # pure: from its arguments and the order only
    method.finish(y_new, g_prev, y_prev)             # remember what the next step needs

``g_prev`` = g(t_{n-1}, y_{n-1}), ``rhs(y)`` = g(t_n, y) (for implicit and corrector evaluations),
``rest`` the level the state history is measured from (y_0 in ``fdeint``, the neuron's rest level).
A subclass declares its ``name``, its convergence ``order`` on smooth problems and its weights;
:func:`integrate` is the time loop.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ..order import FractionalOrder
from .implicit import FixedPoint, Solve

__all__ = ["FractionalMethod", "MemoryChoice", "integrate"]


@dataclass(frozen=True)
class MemoryChoice:
    """How much past a method keeps: an engine name (``"exact"``, ``"window"``, a plugin's) and its
    options; ``window`` is the number of lags kept (None: all)."""

    name: str = "exact"
    options: dict = field(default_factory=dict)

    @property
    def window(self) -> int | None:
        if self.name == "exact":
            return None
        if self.name == "window":
            return int(self.options.get("window", 32))
        return None


class FractionalMethod:
    """Base of the ``fdeint`` methods (see the module docstring for the step protocol).

    Class attributes a method declares:
        name: registry name.
        multi_term: solves Σ_i c_i D^{α_i} y = f (otherwise one order per element).
        accepts_linear: can take ``options['linear']`` implicitly.
        engines: memory engines it can use by name (``"window"`` also for a plain int window).
        option_names: its own options (beyond memory, memory_options, coefficients, linear).
    """

    name: ClassVar[str] = ""
    multi_term: ClassVar[bool] = False
    accepts_linear: ClassVar[bool] = True
    engines: ClassVar[tuple[str, ...]] = ("exact", "window")
    option_names: ClassVar[tuple[str, ...]] = ()

    @staticmethod
    def order(alpha: float) -> float:
        """Convergence order at t = T on problems with a smooth solution."""
        raise NotImplementedError

    @classmethod
    def accepts_memory(cls, name: str) -> bool:
        return name in cls.engines

    def __init__(
        self,
        order: FractionalOrder,
        memory: MemoryChoice = MemoryChoice(),
        *,
        linear: float | torch.Tensor | None = None,
        solve: Solve | None = None,
        options: dict | None = None,
    ) -> None:
        if order.terms > 1 and not self.multi_term:
            raise ValueError(
                f"method {self.name!r} solves single-term equations; a multi-term alpha needs one of "
                f"{', '.join(repr(m) for m in multi_term_methods())}"
            )
        if linear is not None and not self.accepts_linear:
            raise ValueError(f"method {self.name!r} is explicit: options['linear'] needs an implicit method")
        if not self.accepts_memory(memory.name):
            raise ValueError(
                f"method {self.name!r} keeps its own history: memory must be -1 (all), an int window, "
                f"or one of {', '.join(map(repr, self.engines))}; got {memory.name!r}"
            )
        self.fo = order
        self.memory = memory
        self.window = memory.window
        self.linear = linear
        self.solve = solve or FixedPoint()
        self.options = dict(options or {})
        self.reset()

    # ------------------------------------------------------------- helpers
    @property
    def h(self) -> float:
        return self.fo.step_size

    def alpha(self) -> torch.Tensor:
        """The (single-term) order, float64, shape ``A``."""
        return self.fo.alphas()[0]

    def truncate(self, weights: torch.Tensor, keep: int) -> torch.Tensor:
        """``weights`` with entries from index ``keep`` on set to 0 (a memory window), if any."""
        if self.window is None or keep >= weights.shape[0]:
            return weights
        return torch.cat([weights[:keep], torch.zeros_like(weights[keep:])])

    def full_rhs(self, g: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """f = −λ·y + g (just g without a linear part)."""
        return g if self.linear is None else g - self.linear * y

    def solve_implicit(self, b, c, rhs, f_prev):
        """y = b + c·f(t_n, y) (linear part exact), starting from the explicit guess b + c·f_{n-1}."""
        guess = b + c * f_prev
        if self.linear is not None:
            guess = guess / (1.0 + c * self.linear)
        return self.solve(b, c, self.linear, rhs, guess)

    # ----------------------------------------------------------- protocol
    def reset(self) -> None:
        """Forget the past (a new sequence starts)."""
        self.n = 0

    def detach(self) -> None:
        """Keep the past values, cut the autograd graph."""

    def apply(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Apply a tensor conversion (``.to``) to the stored past."""

    #: Per-sequence caches, rebuilt on demand: attribute -> its empty value.
    caches: ClassVar[dict[str, Any]] = {}

    def __getstate__(self) -> dict:
        """Copies and pickles keep the past values, never an autograd graph (caches are rebuilt)."""
        state = self.__dict__.copy()
        for name, value in state.items():
            if name in self.caches:
                state[name] = copy.copy(self.caches[name])
            elif isinstance(value, torch.Tensor):
                state[name] = value.detach()
        return state

    def prepare(self, y_prev: torch.Tensor, rest: float | torch.Tensor) -> Any:
        raise NotImplementedError

    def local(self, y_prev: torch.Tensor, g_prev: torch.Tensor, rhs, prepared: Any) -> torch.Tensor:
        raise NotImplementedError

    def finish(self, y_new: torch.Tensor, g_prev: torch.Tensor, y_prev: torch.Tensor) -> None:
        pass


def multi_term_methods() -> list[str]:
    from ..plugins import methods

    return [e.name for e in methods if getattr(e.obj, "multi_term", False)]


def one_step(method: FractionalMethod, g, t_prev, t_now, y_prev, prepared):
    """The local part of a step: evaluate g at the start, then the method's update."""
    g_prev = g(t_prev, y_prev)
    return method.local(y_prev, g_prev, lambda y: g(t_now, y), prepared), g_prev


def integrate(
    method: FractionalMethod,
    g: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0: torch.Tensor,
    t: torch.Tensor,
    run: Callable[..., tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> torch.Tensor:
    """y_0 … y_{N-1} on the grid ``t`` (stacked, shape ``[N, *y0.shape]``).

    ``run(one_step, *args)`` executes the local part of each step (``fdeint_adjoint`` passes a
    checkpointing runner); ``g(t, y)`` works in ``y0``'s shape.
    """
    method.reset()
    times = t.unbind(0)
    states = [y0]
    y = y0
    for n in range(1, len(times)):
        prepared = method.prepare(y, y0)
        if run is None:
            y_new, g_prev = one_step(method, g, times[n - 1], times[n], y, prepared)
        else:
            y_new, g_prev = run(one_step, method, g, times[n - 1], times[n], y, prepared)
        method.finish(y_new, g_prev, y)
        states.append(y_new)
        y = y_new
    return torch.stack(states)
