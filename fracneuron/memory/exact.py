r"""The ``exact`` engine: the full Grünwald–Letnikov history sum, stored once.

c_n = −Σ_{k=1}^{n} ω_k u_{n-k} over every past state. Cost per step O(n·N) in large matrix
products (see :mod:`fracneuron.functional.history`), memory O(T·N) for forward and backward
alike. It is the reference every other engine is measured against.
"""

from __future__ import annotations

import math

import torch

from ..functional.history import BLOCK, Past, step
from ..order import FractionalOrder
from ..weights import correction_weights
from .engine import MemoryEngine

__all__ = ["ExactMemory"]


class ExactMemory(MemoryEngine):
    """Keeps every past state; the reference engine."""

    name = "exact"
    window: int | None = None

    def __init__(self) -> None:
        self._past = Past(self.window)

    # ------------------------------------------------------------ engine API
    def correction(self, u_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        past = self._past
        if past.shape is None:
            self._start(past, u_prev, order)
        else:
            self.check_shape(u_prev)
            if past.store is not None:
                self.check_like(u_prev, past.store.data)
        return step(past, u_prev, lambda R: self._reversed_weights(order, R, u_prev))

    def reset(self) -> None:
        self._past = self._next_past()

    def _next_past(self) -> Past:
        # The next sequence is probably as long as this one: allocate its buffer once.
        old = self._past
        return Past(self.window, capacity_hint=max(64, old.n + old.block_size), rows=old.rows)

    def detach(self) -> None:
        self._past = self._past.cut()

    def apply(self, fn) -> None:
        self._past = self._past.moved(fn)

    def fork(self) -> "ExactMemory":
        new = super().fork()
        new._past = self._past.fork()
        return new

    def spawn(self) -> "ExactMemory":
        new = self._copy_options()
        new._past = self._next_past()
        return new

    def _copy_options(self) -> "ExactMemory":
        return type(self)()

    @property
    def steps(self) -> int:
        return self._past.n

    def __getstate__(self):
        # deepcopy/pickle carry the past values, never the autograd graph
        state = self.__dict__.copy()
        state["_past"] = self._past.snapshot()
        return state

    @property
    def state_shape(self) -> torch.Size | None:
        return self._past.shape

    def state_values(self) -> torch.Tensor | None:
        past = self._past
        if past.store is None:
            return None
        lo = past.lowest_needed(past.n)
        return past.store.rows(lo, past.n)

    def describe(self) -> str:
        return self.name

    # ------------------------------------------------------------ internals
    @staticmethod
    def _start(past: Past, u: torch.Tensor, order: FractionalOrder) -> None:
        past.shape = u.shape
        per_neuron_shape = order.alphas().shape[1:]
        past.per_neuron = math.prod(per_neuron_shape) > 1
        # Per-neuron weights make the block's Hankel matrix as large as the history: step by step.
        past.block_size = 1 if past.per_neuron else BLOCK

    def _reversed_weights(self, order: FractionalOrder, lags: int, like: torch.Tensor) -> torch.Tensor:
        """r [P, R] with r[:, R-k] = −ω_k for k = 1..R (R >= lags, a power of two), so the history
        sum is c_n = −Σ ω_k u_{n-k} directly."""
        R = max(64, 1 << (lags - 1).bit_length())
        omega = -correction_weights(order.gl(R, like.dtype, like.device)[0])[1:]  # [R, *A]
        if self.window is not None:
            omega = torch.cat([omega[: self.window], torch.zeros_like(omega[self.window :])])
        if self._past.per_neuron:
            features = like.shape[1:]
            omega = omega.expand(R, *features).reshape(R, -1)
            return omega.flip(0).t().contiguous()
        return omega.reshape(R, -1)[:, :1].flip(0).t().contiguous()
