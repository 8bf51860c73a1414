r"""The shape every ``fdeint`` method has: :class:`FractionalMethod` and :class:`MemoryChoice`.

A method discretises the Caputo problem  Σ_i c_i D^{α_i} y = f(t, y),  y(t_0) = y_0  on a uniform
grid t_n = t_0 + n h (h, the step size, is the only meaning of ``h`` here). When
``options['linear'] = λ`` is given, f = −λ·y + g and the caller's function is g; methods that allow
it take the linear part implicitly.

Each step n (y_{n-1} → y_n) has three phases, so that the same method serves ``fdeint``, its
adjoint (which recomputes the middle phase during the backward pass) and a neuron's charge:

    prepared = method.prepare(y_prev, rest)          # history sums; reads and extends the past
    y_new    = method.local(y_prev, g_prev, rhs, prepared)
                                                      # pure: from its arguments and the order only
    method.finish(y_new, g_prev, y_prev)             # remember what the next step needs

``g_prev`` = g(t_{n-1}, y_{n-1}), ``rhs(y)`` = g(t_n, y) (for implicit and corrector evaluations),
``rest`` the level the state history is measured from (y_0 in ``fdeint``, the neuron's rest level).
A subclass declares its ``name``, its :meth:`~FractionalMethod.convergence_order` on smooth
problems and its weights; the time loop is :func:`fracneuron.solvers.loop.integrate`, written once.
The schemes: :mod:`~fracneuron.solvers.gl`, :mod:`~fracneuron.solvers.l1`,
:mod:`~fracneuron.solvers.product`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ..order import FractionalOrder
from .implicit import FixedPoint, Solve

__all__ = ["FractionalMethod", "MemoryChoice", "with_history"]


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

    and the static :meth:`convergence_order`. An instance holds the fractional ``order`` (a
    :class:`~fracneuron.order.FractionalOrder`: α, coefficients, step size h), its ``memory``
    choice, the ``linear`` part λ and the implicit ``solve``.
    """

    name: ClassVar[str] = ""
    multi_term: ClassVar[bool] = False
    accepts_linear: ClassVar[bool] = True
    engines: ClassVar[tuple[str, ...]] = ("exact", "window")
    option_names: ClassVar[tuple[str, ...]] = ()

    @staticmethod
    def convergence_order(alpha: float) -> float:
        """Convergence order at t = T on problems with a smooth solution, for fractional order α
        (the error falls as h^p)."""
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
        self.order = order  # the fractional order (α, coefficients, step size)
        self.memory = memory
        self.window = memory.window
        self.linear = linear
        self.solve = solve or FixedPoint()
        self.options = dict(options or {})
        self.reset()

    # ------------------------------------------------------------- helpers
    @property
    def h(self) -> float:
        """The step size of the grid."""
        return self.order.step_size

    def alpha(self) -> torch.Tensor:
        """The (single-term) fractional order α, float64, shape ``A``."""
        return self.order.alphas()[0]

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


def with_history(known: torch.Tensor, history: torch.Tensor | None) -> torch.Tensor:
    """``known`` plus a history sum (``known`` itself while there is no past to sum)."""
    return known if history is None else known + history
