r"""``l1``: the implicit L1 scheme (Caputo derivative of the piecewise-linear interpolant of y).

    y_n = y_{n-1} + g·f(t_n, y_n) − Σ_{k=1}^{n-1} b̃_k (u_{n-k} − u_{n-k-1}),    u = y − y_0

Convergence order 2 − α on smooth problems; at α = 1, backward Euler bit for bit. Multi-term
equations combine the per-term weights with :func:`fracneuron.weights.combine_terms`. The
history sum is a :class:`~fracneuron.solvers.kernel_history.KernelHistory` over the states.
"""

from __future__ import annotations

import torch

from ..weights import combine_terms, l1_weights
from .base import FractionalMethod, with_history
from .implicit import IMPLICIT_OPTIONS
from .kernel_history import KernelHistory

__all__ = ["L1"]


class L1(FractionalMethod):
    r"""Implicit L1 scheme:

        y_n = y_{n-1} + g·f(t_n, y_n) − Σ_{k=1}^{n-1} b̃_k (u_{n-k} − u_{n-k-1})

    with b_k = (k+1)^{1−α} − k^{1−α}, g = Γ(2−α)·h^α for one term; for Σ_i c_i D^{α_i} the
    combined B_k = Σ_i c_i h^{−α_i} b^{(α_i)}_k / Γ(2−α_i), b̃ = B/B_0, g = 1/B_0.
    The sum is the history Σ_k ρ_k u_{n-k} with ρ_1 = −b̃_1, ρ_k = b̃_{k-1} − b̃_k.
    """

    name = "l1"
    multi_term = True
    option_names = IMPLICIT_OPTIONS
    caches = {"_scale": None}

    @staticmethod
    def convergence_order(alpha: float) -> float:
        return 2.0 - alpha

    def reset(self) -> None:
        super().reset()
        window = None if self.window is None else self.window + 1
        self.history = KernelHistory(self._kernel, window)
        self._scale = None

    def detach(self) -> None:
        self.history.detach()

    def apply(self, fn) -> None:
        self.history.apply(fn)

    def weights(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(b̃_0..b̃_n ``[n+1, *A]``, g ``[*A]``), float64."""

        def term(alpha: torch.Tensor) -> torch.Tensor:  # b^{(α)} / Γ(2−α): one term's B
            return l1_weights(alpha, n) / torch.exp(torch.lgamma(2.0 - alpha))

        # combine_terms gives B / W_0 and s = 1/(h W_0) (W_0 = Σ_i c_i h^{−α_i}), so with
        # β = B_0 / W_0:  b̃ = B / B_0 = (B / W_0) / β  and  g = 1 / B_0 = h·s / β.
        combined, scale = combine_terms(self.order.alphas(), self.order.coefficients(), self.h, term)
        first = combined[0]
        return combined / first, self.h * scale / first

    def _kernel(self, R: int) -> torch.Tensor:
        b = self.weights(R)[0]
        if self.window is not None:
            b = self.truncate(b, self.window + 1)
        return torch.cat([-b[1:2], b[1:R] - b[2 : R + 1]])

    def prepare(self, y_prev, rest):
        self.n += 1
        if self._scale is None:
            self._scale = self.weights(0)[1].to(y_prev.dtype)
        history = None if self.order.is_markovian else self.history(y_prev - rest, self.order)
        return history, self._scale

    def local(self, y_prev, g_prev, rhs, prepared):
        history, scale = prepared
        return self.solve_implicit(with_history(y_prev, history), scale, rhs, self.full_rhs(g_prev, y_prev))
