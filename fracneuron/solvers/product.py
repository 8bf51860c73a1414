r"""Product-integration methods: schemes on the integral form y(t) = y_0 + I^α f.

Notation: h the step size, f_j = f(t_j, y_j), weights from :mod:`fracneuron.weights`
(differentiable in α, exact at α = 1).

| name | update | convergence order | α = 1 |
|---|---|---|---|
| ``pred`` | y_n = y_0 + h^α Σ_j b_{n-1-j} f_j (product rectangle, fractional Adams–Bashforth) | 1 | explicit Euler |
| ``abm`` | predictor ``pred``, corrector y_n = y_0 + h^α [a_0 f(y^P) + Σ_{j≥1} a_{n-j} f_j + s_n f_0] (DFF PECE; ``corrector_iters`` = μ) | 1 + α (μ correctors: min(2, 1+μα)) | PECE (AB1/AM2, integral form) |
| ``trap`` | the corrector with f(t_n, y_n), solved (implicit product trapezoid) | 2 | trapezoid rule |

``pred`` and ``trap`` are computed in *increment form* y_n = y_{n-1} + (the change of the sums),
which is the same scheme in exact arithmetic and at α = 1 collapses to the classical one-step
formula bit for bit: every weight beyond the classical ones is exactly 0. ``abm`` keeps
Diethelm–Ford–Freed's integral form (its corrector defects must not accumulate).

The histories of f are :class:`~fracneuron.solvers.kernel_history.KernelHistory` sums. The newest
right-hand side is held out of the history sum (it is known only inside the step) and added
pointwise, so every history sum is ready before the step starts.
"""

from __future__ import annotations

import torch

from ..weights import rectangle_weights, trapezoid_start_weights, trapezoid_weights
from .base import FractionalMethod, with_history
from .implicit import IMPLICIT_OPTIONS
from .kernel_history import KernelHistory

__all__ = ["ProductRectangle", "AdamsBashforthMoulton", "ProductTrapezoid"]


class _ProductIntegration(FractionalMethod):
    r"""Schemes on the integral form y(t) = y_0 + I^α f: they remember f_0, f_1, …

    The history sums hold f_0 … f_{n-2} (appended at the start of step n); the newest f_{n-1} is
    computed inside the step and added pointwise. Kernels and constants come multiplied by h^α
    and cast to the state's dtype once per sequence; per-step weights (of f_0) are tables that
    grow by doubling.
    """

    #: In increment form, at α = 1 every history weight is 0: skip the sums.
    increment_form = True
    #: Number of history sums (kernels) over the one past of f.
    kernels = 1
    caches = {"_constants": None, "_tables": {}, "_h_alpha": None}

    def reset(self) -> None:
        super().reset()
        self._pending: torch.Tensor | None = None  # f_{n-2}, appended at the next prepare
        self._f0: torch.Tensor | None = None
        self._tables: dict[str, torch.Tensor] = {}
        self._constants: tuple | None = None
        self._h_alpha: torch.Tensor | None = None
        self.sums = None if self._skip_history() else KernelHistory(self._lagged, self._lagged_window(), self.kernels)

    def _skip_history(self) -> bool:
        return self.increment_form and self.order.is_markovian

    def _lagged(self, R: int) -> torch.Tensor:
        """h^α × the weights of lags 2..R+1 (the history sum holds f_{n-2}, f_{n-3}, …)."""
        raise NotImplementedError

    def _lagged_window(self) -> int | None:
        """Lags (of the lagged sum) with non-zero weight under a memory window."""
        return None if self.window is None else max(1, self.window)

    def detach(self) -> None:
        if self.sums is not None:
            self.sums.detach()
        self._pending = None if self._pending is None else self._pending.detach()
        self._f0 = None if self._f0 is None else self._f0.detach()

    def apply(self, fn) -> None:
        if self.sums is not None:
            self.sums.apply(fn)
        self._pending = None if self._pending is None else fn(self._pending)
        self._f0 = None if self._f0 is None else fn(self._f0)

    def h_alpha(self) -> torch.Tensor:
        """h^α (float64, differentiable in α), computed once per sequence."""
        if self._h_alpha is None:
            a = self.alpha()
            self._h_alpha = torch.pow(torch.tensor(self.h, dtype=a.dtype, device=a.device), a)
        return self._h_alpha

    def table(self, key: str, n: int, build, like: torch.Tensor) -> torch.Tensor:
        """Entry n of a per-step weight table ``build(size)`` (``[size+1, *A]``) in like's dtype."""
        table = self._tables.get(key)
        if table is None or len(table) <= n:
            # kept as a tuple of entries: a step reads its entry without a tensor operation
            table = self._tables[key] = build(max(64, 1 << n.bit_length())).to(like.dtype).unbind(0)
        return table[n]

    def history_sum(self) -> torch.Tensor | None:
        """Append f_{n-2} (if any) and return the (h^α-scaled) history sum; None before step 2."""
        if self._pending is None or self.sums is None:
            return None
        return self.sums(self._pending, self.order)

    def constants(self, like: torch.Tensor) -> tuple:
        """The method's pointwise constants, built once per sequence by :meth:`make_constants`."""
        if self._constants is None:
            self._constants = tuple(c.to(like.dtype) for c in self.make_constants())
        return self._constants

    def make_constants(self) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def finish(self, y_new, g_prev, y_prev):
        f_prev = self.full_rhs(g_prev, y_prev)
        if self._f0 is None:
            self._f0 = f_prev
        if self.sums is not None:
            self._pending = f_prev


class ProductRectangle(_ProductIntegration):
    r"""Product rectangle rule, the fractional Adams–Bashforth (explicit) method:

        y_n = y_0 + h^α Σ_{j=0}^{n-1} b_{n-1-j} f_j,    b_m = ((m+1)^α − m^α)/Γ(α+1)

    in increment form y_n = y_{n-1} + h^α [b_0 f_{n-1} + Σ_{k≥2} (b_{k-1} − b_{k-2}) f_{n-k}].
    """

    name = "pred"
    accepts_linear = False

    @staticmethod
    def convergence_order(alpha: float) -> float:
        return 1.0

    def weights(self, n: int) -> torch.Tensor:
        """b_0..b_n (zero from the window on)."""
        return self.truncate(rectangle_weights(self.alpha(), n), self.window or 0)

    def _lagged(self, R: int) -> torch.Tensor:
        b = self.weights(R)
        return self.h_alpha() * (b[1 : R + 1] - b[:R])  # lag j + 1: b_j − b_{j-1}

    def make_constants(self):
        return (self.h_alpha() * self.weights(0)[0],)

    def prepare(self, y_prev, rest):
        self.n += 1
        return self.constants(y_prev) + (self.history_sum(),)

    def local(self, y_prev, g_prev, rhs, prepared):
        scaled_b0, history = prepared
        # not addcmul: a fused multiply-add would round differently from Euler's y + h·f at α = 1
        return with_history(y_prev + scaled_b0 * g_prev, history)


class _Trapezoid(_ProductIntegration):
    """Product-trapezoid weights a (and the start weights s of f_0), windowed."""

    def corrector_weights(self, n: int) -> torch.Tensor:
        """a_0..a_n (zero beyond the window L)."""
        return self.truncate(trapezoid_weights(self.alpha(), n), (self.window or 0) + 1)

    def start_weights(self, n: int) -> torch.Tensor:
        """s_0..s_n (zero beyond the window L: f_0 has left it)."""
        return self.truncate(trapezoid_start_weights(self.alpha(), n), (self.window or 0) + 1)


class ProductTrapezoid(_Trapezoid):
    r"""Implicit product trapezoid rule (the Adams–Moulton corrector solved for y_n):

        y_n = y_0 + h^α [a_0 f(t_n, y_n) + Σ_{j=1}^{n-1} a_{n-j} f_j + s_n f_0]

    in increment form y_n = y_{n-1} + h^α [a_0 f_n + Σ_{k≥1} (a_k − a_{k-1}) f_{n-k} + d_n f_0],
    d_n = s_n − s_{n-1} − (a_n − a_{n-1}). Solved by fixed point (``fdeint``, options ``tol``,
    ``max_iter``; a stiff linear part via ``linear``) or elementwise Newton (neurons).
    """

    name = "trap"
    option_names = IMPLICIT_OPTIONS

    @staticmethod
    def convergence_order(alpha: float) -> float:
        return 2.0

    def _lagged(self, R: int) -> torch.Tensor:
        a = self.corrector_weights(R + 1)
        return self.h_alpha() * (a[2 : R + 2] - a[1 : R + 1])

    def _start_increments(self, size: int) -> torch.Tensor:
        a, s = self.corrector_weights(size), self.start_weights(size)
        d = (s[1:] - s[:-1]) - (a[1:] - a[:-1])
        return self.h_alpha() * torch.cat([torch.zeros_like(d[:1]), d])  # d_0 unused

    def make_constants(self):
        a = self.corrector_weights(1)
        return self.h_alpha() * a[0], self.h_alpha() * (a[1] - a[0])

    def prepare(self, y_prev, rest):
        self.n += 1
        d = None if self._skip_history() else self.table("d", self.n, self._start_increments, y_prev)
        return self.constants(y_prev) + (self.history_sum(), d, self._f0)

    def local(self, y_prev, g_prev, rhs, prepared):
        c, scaled_rho1, history, d, f0 = prepared
        f_prev = self.full_rhs(g_prev, y_prev)
        known = with_history(y_prev + scaled_rho1 * f_prev, history)
        if d is not None:
            known = known + d * (f_prev if f0 is None else f0)
        return self.solve_implicit(known, c, rhs, f_prev)


class AdamsBashforthMoulton(_Trapezoid):
    r"""Diethelm–Ford–Freed predictor–corrector (PECE, or PE(CE)^μ with ``corrector_iters`` = μ):

        y^P_n = Y + h^α Σ_{j=0}^{n-1} b_{n-1-j} f_j
        y_n   = Y + h^α [a_0 f(t_n, y^P_n) + Σ_{j=1}^{n-1} a_{n-j} f_j + s_n f_0]

    Y = y_0 (plus any jumps a neuron's reset made). The history stores f of the corrected states;
    the predictor's and the corrector's sums are one history with two weight rows. With a linear
    part, −λ y_n is taken implicitly in the corrector.
    """

    name = "abm"
    increment_form = False
    kernels = 2
    option_names = ("corrector_iters",)

    @staticmethod
    def convergence_order(alpha: float) -> float:
        return 1.0 + alpha

    def reset(self) -> None:
        super().reset()
        self._offset: torch.Tensor | None = None  # Y
        self._last: torch.Tensor | None = None  # this method's last output
        iters = self.options.get("corrector_iters", 1)
        if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
            raise ValueError(f"options['corrector_iters'] must be an integer >= 1, got {iters!r}")
        self.corrector_iters = iters

    def predictor_weights(self, n: int) -> torch.Tensor:
        return self.truncate(rectangle_weights(self.alpha(), n), self.window or 0)

    def _lagged(self, R: int) -> torch.Tensor:
        """[R, 2, *A]: h^α b_j (predictor) and h^α a_{j+1} (corrector) for lag j + 1."""
        pair = (self.predictor_weights(R)[1 : R + 1], self.corrector_weights(R + 1)[2 : R + 2])
        return self.h_alpha() * torch.stack(pair, dim=1)

    def _lagged_window(self) -> int | None:
        return None if self.window is None else max(1, self.window - 1)

    def _start_excess(self, size: int) -> torch.Tensor:
        return self.h_alpha() * (self.start_weights(size) - self.corrector_weights(size))  # e_n = s_n − a_n

    def make_constants(self):
        a, h_alpha = self.corrector_weights(1), self.h_alpha()
        return h_alpha * torch.stack([self.predictor_weights(0)[0], a[1]]), h_alpha * a[0]

    def constants(self, like: torch.Tensor) -> tuple:
        if self._constants is None:
            # (h^α b_0, h^α a_1) as [2, 1.., *A]: the predictor's and the corrector's known parts
            # are one operation on the stacked history sums
            pair, c = super().constants(like)
            self._constants = pair.reshape(2, *[1] * (like.dim() - pair.dim() + 1), *pair.shape[1:]), c
        return self._constants

    def prepare(self, y_prev, rest):
        self.n += 1
        if self._offset is None:
            self._offset = y_prev
        elif y_prev is not self._last:  # a neuron reset moved the state: the jump stays
            self._offset = self._offset + (y_prev - self._last)
        e = self.table("e", self.n, self._start_excess, y_prev)
        return self.constants(y_prev) + (self.history_sum(), e, self._f0, self._offset)

    def local(self, y_prev, g_prev, rhs, prepared):
        pair, c, sums, e, f0, offset = prepared
        f_prev = self.full_rhs(g_prev, y_prev)
        # predictor y^P = Y + h^α b_0 f_{n-1} + its sum; corrector's known part likewise with a_1
        y, known = with_history(torch.addcmul(offset, pair, f_prev), sums).unbind(0)
        known = torch.addcmul(known, e, f_prev if f0 is None else f0)
        for _ in range(self.corrector_iters):
            y = torch.addcmul(known, c, rhs(y))
            if self.linear is not None:
                y = y / (1.0 + c * self.linear)
        return y

    def finish(self, y_new, g_prev, y_prev):
        super().finish(y_new, g_prev, y_prev)
        self._last = y_new

    def detach(self) -> None:
        super().detach()
        self._offset = None if self._offset is None else self._offset.detach()
        self._last = None if self._last is None else self._last.detach()

    def apply(self, fn) -> None:
        super().apply(fn)
        self._offset = None if self._offset is None else fn(self._offset)
        self._last = None if self._last is None else fn(self._last)
