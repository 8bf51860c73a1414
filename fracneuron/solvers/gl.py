r"""``gl``: explicit Grünwald–Letnikov, the neuron memory's own formula as an ``fdeint`` method.

    y_n = y_{n-1} + s·h·f_{n-1} + c_n,    c_n = −Σ_{k=1}^{n} ω_k u_{n-k},    u = y − y_0

The step itself is :func:`fracneuron.functional.fractional_potential` (the one place the formula
is written); the history c_n comes from any memory engine (``exact``, ``window``, ``soe``, a
plugin's), built by :func:`fracneuron.memory.engine.engine_named`. Convergence order 1; at α = 1,
explicit Euler bit for bit.
"""

from __future__ import annotations

from ..functional.step import fractional_potential
from ..memory.engine import engine_named
from .base import FractionalMethod, MemoryChoice

__all__ = ["GrunwaldLetnikov"]


class GrunwaldLetnikov(FractionalMethod):
    r"""Explicit Grünwald–Letnikov (DESIGN.md):

        y_n = y_{n-1} + s·h·f_{n-1} + c_n,   c_n = −Σ_{k=1}^{n} ω_k u_{n-k}

    s = h^{α−1} (multi-term: 1/(h W_0)). With a linear part, −λ y_n is taken at the new step
    (IMEX): y_n = (y_{n-1} + s h g_{n-1} + c_n)/(1 + s h λ). Any memory engine works here.
    """

    name = "gl"
    multi_term = True
    caches = {"_scale": None}

    @staticmethod
    def convergence_order(alpha: float) -> float:
        return 1.0

    @classmethod
    def accepts_memory(cls, name: str) -> bool:
        return True  # any registered engine (the registry refuses unknown names)

    def __init__(self, order, memory=MemoryChoice(), **kwargs) -> None:
        self.engine = engine_named(memory.name, memory.options)
        super().__init__(order, memory, **kwargs)

    def reset(self) -> None:
        super().reset()
        self.engine.reset()
        self._scale = None

    def detach(self) -> None:
        self.engine.detach()

    def apply(self, fn) -> None:
        self.engine.apply(fn)

    def prepare(self, y_prev, rest):
        self.n += 1
        if self.order.is_markovian:
            return None, None
        if self._scale is None and not self.order.unit_scale:
            self._scale = self.order.increment_scale(y_prev.dtype, y_prev.device)
        return self.engine.correction(y_prev - rest, self.order), self._scale

    def local(self, y_prev, g_prev, rhs, prepared):
        correction, scale = prepared
        y = fractional_potential(y_prev, correction, scale, increment=self.h * g_prev)
        if self.linear is not None:  # −λ·y_n taken at the new step (IMEX)
            y = y / (1.0 + (1.0 if scale is None else scale) * self.h * self.linear)
        return y
