r"""History sums with any kernel: the ``exact`` engine's storage and autograd, other weights.

A scheme that remembers its past as Σ_{k=1}^{m} ρ_k x_{m-k} (L1 on the states, product
integration on the right-hand sides) uses a :class:`KernelHistory`: the preallocated buffer,
blocked matrix products and O(T·N) backward of :mod:`fracneuron.functional.stored_history`, with the
scheme's own kernel instead of the Grünwald–Letnikov one. Each call appends x_{m-1} and returns the sum.

Several kernels over the same past (a predictor's and a corrector's) are one history with one
weight row per kernel: each step is a single update and a single matrix product for all of them.
The history is kept in its row layout ``[P, Q]`` (P weight rows: kernels × per-element orders;
Q the columns sharing a row), built here once per step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..functional.stored_history import BLOCK, Past
from ..memory.exact import ExactMemory
from ..order import FractionalOrder

__all__ = ["KernelHistory"]

#: ``kernel(R)`` returns ρ_1..ρ_R: ``[R, *A]`` for one kernel, ``[R, K, *A]`` for K of them.
Kernel = Callable[[int], torch.Tensor]

#: Blocked (matrix–matrix) updates for at most this many weight rows and at least this many columns.
_BLOCKED_ROWS = 16
_BLOCKED_COLUMNS = 64


class KernelHistory(ExactMemory):
    """Σ_{k=1}^{m} ρ_k x_{m-k} over every stored x (or the last ``window`` of them).

    ``kernel`` must return weights that vanish beyond lag ``window`` when a window is given. With
    ``kernels`` = K > 1 a call returns the K sums stacked: ``[K, *x.shape]``. A per-element order
    (α of shape F) expects x of shape ``[Q, *F]``.
    """

    name = "kernel"

    def __init__(self, kernel: Kernel, window: int | None = None, kernels: int = 1) -> None:
        self.kernel = kernel
        self.window = window
        self.kernels = kernels
        super().__init__()
        self._past.rows = True

    def __call__(self, x_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        K = self.kernels
        if order.alphas().dim() == 1:  # one order for every element: one row, one weight row per kernel
            return self.correction(x_prev.reshape(1, -1), order).reshape(*(() if K == 1 else (K,)), *x_prev.shape)
        rows = x_prev.reshape(x_prev.shape[0], -1).t()  # [F, Q]
        if K == 1:
            return self.correction(rows, order).t().reshape(x_prev.shape)
        sums = self.correction(rows.repeat(K, 1), order).reshape(K, -1, x_prev.shape[0])
        return sums.transpose(1, 2).reshape(K, *x_prev.shape)

    def _start(self, past: Past, rows: torch.Tensor, order: FractionalOrder) -> None:
        past.shape = rows.shape
        weight_rows = rows.shape[0] if order.alphas().dim() > 1 else self.kernels
        past.per_neuron = weight_rows > 1
        # Blocks turn B matrix–vector products into one matrix product, worth it for wide states;
        # for a few columns the block's Hankel copy costs more than the products it saves.
        small = rows.shape[1] < _BLOCKED_COLUMNS or weight_rows > _BLOCKED_ROWS
        past.block_size = 1 if small else BLOCK

    def _copy_options(self) -> "KernelHistory":
        return type(self)(self.kernel, self.window, self.kernels)

    def _reversed_weights(self, order: FractionalOrder, lags: int, like: torch.Tensor) -> torch.Tensor:
        """r [P, R] with r[:, R-k] = ρ_k (R >= lags, a power of two, so weights grow rarely)."""
        R = max(64, 1 << (lags - 1).bit_length())
        rho = self.kernel(R).to(like.dtype).reshape(R, -1)
        # one weight row per kernel (and per element): a shared past row serves every kernel
        return rho.expand(R, max(rho.shape[1], like.shape[0])).flip(0).t().contiguous()

    def describe(self) -> str:
        return "kernel" if self.window is None else f"kernel(L={self.window})"
