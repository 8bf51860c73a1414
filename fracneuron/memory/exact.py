r"""The ``exact`` engine: the full Grünwald–Letnikov history sum, stored once.

c_n = −Σ_{k=1}^{n} ω_k u_{n-k} over every past state. Cost per step O(n·N) in large matrix
products (see :mod:`fracneuron.functional.stored_history`), memory O(T·N) for forward and backward
alike. It is the reference every other engine is measured against.

Under ``torch.compile`` the same sum runs as plain tensor operations
(:mod:`fracneuron.functional.traced`), so a compiled model traces without graph breaks; a
sequence may switch between eager and compiled steps (the switch carries the past's values; the
gradient through the memory into the steps before the switch is cut, as by ``detach()``).
"""

from __future__ import annotations

import math

import torch

from ..functional.stored_history import BLOCK, SPAN, Past, step
from ..functional.traced import traced_history_step
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
        self._traced: torch.Tensor | None = None  # the past as one tensor, while compiled steps run

    # ------------------------------------------------------------ engine API
    def correction(self, u_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return self._traced_correction(u_prev, order)
        if self._traced is not None:  # compiled steps came first: continue from their values
            self._adopt_traced(order)
        past = self._past
        if past.shape is None:
            self._start(past, u_prev, order)
        else:
            self.check_shape(u_prev)
            if past.store is not None:
                self.check_like(u_prev, past.store.data)
        return step(past, u_prev, lambda R: self._reversed_weights(order, R, u_prev))

    def reset(self) -> None:
        old, self._past = self._past, self._next_past()
        if old.owns_far:  # the buffer of its outer far parts, which no other handle reads: the
            self._past.outer_far, self._past.owns_far = old.outer_far, True  # next sequence reuses it
        self._traced = None

    def _next_past(self) -> Past:
        # The next sequence is probably as long as this one: allocate its buffer once, of that
        # size, whole blocks (a block's first step makes room for all its steps; a short
        # sequence's buffer stays small: measured, fewer fresh pages per sequence).
        # (A reset of a sequence that never stepped keeps the hint it had: snnTorch resets twice.)
        old = self._past
        hint = old.capacity_hint if old.n == 0 else -(-old.n // old.block_size) * old.block_size
        return Past(self.window, capacity_hint=hint, rows=old.rows)

    def detach(self) -> None:
        self._past = self._past.cut()
        if self._traced is not None:
            self._traced = self._traced.detach()

    def apply(self, fn) -> None:
        self._past = self._past.moved(fn)
        if self._traced is not None:
            self._traced = fn(self._traced)

    def fork(self) -> "ExactMemory":
        new = self._copy_options()
        new._past, new._traced = self._past.fork(), self._traced
        return new

    def spawn(self) -> "ExactMemory":
        new = self._copy_options()
        new._past = self._next_past()
        return new

    def adjoint(self) -> "ExactMemory":
        return self.spawn()

    def begin_recording(self) -> None:
        past = self._past
        if past.weights is not None and not past.weights_have_graph:
            # a recorded step asks again for weights made under no_grad, and starts a new block
            past.weights, past.block_start = None, 0

    @property
    def has_graph(self) -> bool:
        chain = self._past.chain
        return (chain is not None and chain.requires_grad) or (self._traced is not None and self._traced.requires_grad)

    def _copy_options(self) -> "ExactMemory":
        return type(self)()

    @property
    def steps(self) -> int:
        return self._past.n if self._traced is None else self._past.n + self._traced.shape[0]

    def __getstate__(self):
        # deepcopy/pickle carry the past values, never the autograd graph
        state = self.__dict__.copy()
        state["_past"] = self._past.snapshot()
        if self._traced is not None:
            state["_traced"] = self._traced.detach()
        return state

    @property
    def state_shape(self) -> torch.Size | None:
        return self._past.shape if self._traced is None else self._traced.shape[1:]

    def state_values(self) -> torch.Tensor | None:
        if self._traced is not None:
            return self._traced
        return self._past.values()

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
        # Two-level far parts (stored_history): the old past read once per SPAN blocks. Not for a
        # window, whose store keeps only what the current block reads.
        past.span = SPAN if past.block_size > 1 and past.window is None else 1

    def kernel_weights(self, order: FractionalOrder, lags: int, like: torch.Tensor) -> torch.Tensor:
        """ρ_k = −ω_k for k = 1 … ``lags`` as ``[lags, *A]`` (zero beyond a window), with α's graph."""
        return self._omega(order, lags, like)

    def _omega(self, order: FractionalOrder, lags: int, like: torch.Tensor) -> torch.Tensor:
        """−ω_1 … −ω_lags as ``[lags, *A]`` (zero beyond a window)."""
        omega = -correction_weights(order.gl(lags, like.dtype, like.device)[0])[1:]
        if self.window is not None and lags > self.window:
            omega = torch.cat([omega[: self.window], torch.zeros_like(omega[self.window :])])
        return omega

    def _reversed_weights(self, order: FractionalOrder, lags: int, like: torch.Tensor) -> torch.Tensor:
        """r [P, R] with r[:, R-k] = −ω_k for k = 1..R (R >= lags, a power of two), so the history
        sum is c_n = −Σ ω_k u_{n-k} directly."""
        # at least a block's worth (fewer recomputations as the sequence grows); per neuron the
        # table is [R, neurons], so a short sequence asks for no more than a block of lags
        per_neuron = self._past.per_neuron
        R = max(BLOCK if per_neuron else 64, 1 << (lags - 1).bit_length())
        omega = self._omega(order, R, like)  # [R, *A]
        if per_neuron:
            features = like.shape[1:]
            omega = omega.expand(R, *features).reshape(R, -1)
            return omega.flip(0).t().contiguous()
        return omega.reshape(R, -1)[:, :1].flip(0).t().contiguous()

    def _traced_correction(self, u_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        """The compiled path: the past as one tensor, the sum as plain operations."""
        if self._traced is None and self._past.n:
            # eager steps came first: their values, as constants (past.n counts the older ones)
            values, n = self._past.values(), self._past.n
            self._past = Past(self.window, rows=self._past.rows)
            self._past.n, self._traced = n - values.shape[0], values
        elif self._traced is not None and self._traced.shape[1:] != u_prev.shape:
            self.check_shape(u_prev)
        lags = 1 + (0 if self._traced is None else self._traced.shape[0])
        c, self._traced = traced_history_step(self._traced, u_prev, self._omega(order, lags, u_prev))
        return c

    def _adopt_traced(self, order: FractionalOrder) -> None:
        values, n = self._traced.detach(), self.steps
        past = Past(self.window, rows=self._past.rows)
        self._start(past, values[0], order)
        past.adopt(values, n)
        self._past, self._traced = past, None
