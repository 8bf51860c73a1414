r"""The ``exact`` engine: the full Grünwald–Letnikov history sum, stored once.

c_n = −Σ_{k=1}^{n} ω_k u_{n-k} over every past state. Cost per step O(n·N) in large matrix
products (see :mod:`fracneuron.memory.history`), memory O(T·N) for forward and backward alike.
It is the reference every other engine is measured against.
"""

from __future__ import annotations

import math

import torch

from ..order import FractionalOrder
from ..weights import correction_weights
from .base import MemoryEngine
from .history import BLOCK, History, step

__all__ = ["ExactMemory"]


class ExactMemory(MemoryEngine):
    """Keeps every past state; the reference engine."""

    name = "exact"
    window: int | None = None

    def __init__(self) -> None:
        self._history = History(self.window)

    # ------------------------------------------------------------ engine API
    def correction(self, u_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        hist = self._history
        if hist.shape is None:
            self._start(hist, u_prev, order)
        else:
            self.check_shape(u_prev)
            self.check_like(u_prev, hist.data)
        return step(hist, u_prev, lambda R: self._reversed_weights(order, R, u_prev))

    def reset(self) -> None:
        old = self._history
        old.chain = None  # break history -> graph -> ctx -> history, so the old graph frees promptly
        # The next sequence is probably as long as this one: allocate its buffer once.
        self._history = History(self.window, capacity_hint=max(64, old.n + old.block_size))

    def detach(self) -> None:
        self._history.chain = None  # see reset()
        self._history = self._continued(lambda data: data)

    def apply(self, fn) -> None:
        self._history.chain = None
        self._history = self._continued(fn)

    @property
    def steps(self) -> int:
        return self._history.n

    def __getstate__(self):
        # deepcopy/pickle carry the past values, never the autograd graph
        state = self.__dict__.copy()
        state["_history"] = self._history.snapshot()
        return state

    @property
    def state_shape(self) -> torch.Size | None:
        return self._history.shape

    def describe(self) -> str:
        return self.name

    # ------------------------------------------------------------ internals
    @staticmethod
    def _start(hist: History, u: torch.Tensor, order: FractionalOrder) -> None:
        hist.shape = u.shape
        per_neuron_shape = order.alphas().shape[1:]
        hist.per_neuron = math.prod(per_neuron_shape) > 1
        # Per-neuron weights make the block's Hankel matrix as large as the history: step by step.
        hist.block_size = 1 if hist.per_neuron else BLOCK

    def _continued(self, fn) -> History:
        """Same past values, fresh autograd bookkeeping (for detach and device moves)."""
        old = self._history
        new = History(self.window, capacity_hint=old.capacity_hint)
        if old.data is not None:
            new.data = fn(old.data)
        new.offset, new.n, new.shape = old.offset, old.n, old.shape
        new.per_neuron, new.block_size = old.per_neuron, old.block_size
        return new

    def _reversed_weights(self, order: FractionalOrder, lags: int, like: torch.Tensor) -> torch.Tensor:
        """r [P, R] with r[:, R-k] = −ω_k for k = 1..R (R >= lags, a power of two), so the history
        sum is c_n = −Σ ω_k u_{n-k} directly."""
        R = max(64, 1 << (lags - 1).bit_length())
        omega = -correction_weights(order.gl(R, like.dtype, like.device)[0])[1:]  # [R, *A]
        if self.window is not None:
            omega = torch.cat([omega[: self.window], torch.zeros_like(omega[self.window :])])
        if self._history.per_neuron:
            features = like.shape[1:]
            omega = omega.expand(R, *features).reshape(R, -1)
            return omega.flip(0).t().contiguous()
        return omega.reshape(R, -1)[:, :1].flip(0).t().contiguous()
