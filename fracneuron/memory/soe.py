r"""The ``soe`` engine: the GL history as K leaky modes per neuron (sum of exponentials).

c_n = −Σ_{k=1}^{n} ω̂_k u_{n-k} with ω̂_k = ω_k exactly for k ≤ k0 (``exact_lags``) and

    ω̂_k = Σ_{q=1}^{K} b_q(α) e^{−s_q (k−k0−1)}        (k > k0)

fitted to the exact GL weights with relative error ≤ ``tol`` for every lag up to ``horizon``
(:mod:`fracneuron.soe_fit`). The history then lives in K modes per neuron, updated blockwise
(:mod:`fracneuron.functional.exponential_modes`): time O(T·K·N), a state of K modes and k0 + 4L recent values per
neuron whatever T, and — for a fixed α — forward+backward memory of the engine independent of T.

Error. Σ_{k≥2} |ω_k| = 1 − α, so the fit changes each correction by at most
tol·(1 − α)·max|u|; through the leak of a LIF neuron (τ ≥ 1 step) the potential moves by a few
times that, far below the O(h) error of the GL scheme itself.

Horizon policy. The rates are chosen once per sequence from ``tol``, α and ``horizon``
(default 10^5 steps). A sequence may run past the horizon: the smallest rates then stop
following the power law and the relative kernel error grows like tol·(k/horizon)^{1+α}; the engine
warns once. Pass a larger ``horizon`` (K grows by about 4 modes per decade) for longer runs.

Learnable α. The rates depend on α only through the range of orders they must cover, rounded
outwards to 0.01 (so K stays put while α drifts in training) and fixed for a sequence; the
amplitudes b_q(α) and the exact head are differentiable closed forms, recomputed at every
sequence start and after ``detach()``, so the α-gradient is the exact gradient of the fitted
kernel.
"""

from __future__ import annotations

import copy
import math
import warnings

import torch

from ..order import FractionalOrder
from ..soe_fit import LARGEST_TOL, SoeRates, check_fit_options, fit_rates, soe_amplitudes
from ..weights import combine_terms, correction_weights
from .engine import MemoryEngine
from ..functional.exponential_modes import ModeConvolution
from ..functional.mode_steps import step

__all__ = ["SoeMemory"]


def _option(name: str) -> str:
    """How messages call an option: users pass them as ``memory_options``."""
    return f"memory_options[{name!r}]"


def _check_int(value, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{_option(name)} must be an integer >= {low}, got {value!r}")
    return value


class SoeMemory(MemoryEngine):
    """K exponential modes per neuron plus the last ``exact_lags`` states.

    Args:
        tol: relative error of the kernel over the horizon, in [smallest_tol(horizon), 0.1]
            (default 1e-6; :func:`~fracneuron.soe_fit.smallest_tol` is ≈ 4·eps·lnΓ(horizon+1),
            9.4e-10 for the default horizon: float64 reaches no better).
        horizon: number of steps the fit is accurate for, > exact_lags (default 100 000).
        exact_lags: k0 ≥ 1, lags whose weights are used exactly (default 16).
        block: L ≥ 1, steps per block of the mode update (default 16; a speed knob only).

    ``modes`` is K (``None`` before the first step fixes the order), ``fit`` the
    :class:`~fracneuron.soe_fit.SoeRates` in use (``fit.error``: the measured kernel error).
    """

    name = "soe"

    def __init__(self, tol: float = 1e-6, horizon: int = 100_000, exact_lags: int = 16, block: int = 16) -> None:
        # Everything a fit needs is known here, so a fit that cannot exist is refused now, not
        # at the first step (the rates depend on α only through its range; see soe_fit).
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0.0 < tol <= LARGEST_TOL:
            raise ValueError(f"{_option('tol')} must be a float in (0, {LARGEST_TOL:g}], got {tol!r}")
        self.tol = float(tol)
        self.horizon = _check_int(horizon, "horizon", 1)
        self.exact_lags = _check_int(exact_lags, "exact_lags", 1)
        self.block = _check_int(block, "block", 1)
        check_fit_options(self.tol, self.horizon, self.exact_lags, _option)
        self.fit: SoeRates | None = None
        self._conv: ModeConvolution | None = None
        self._warned = False

    # ------------------------------------------------------------ engine API
    def correction(self, u_prev: torch.Tensor, order: FractionalOrder) -> torch.Tensor:
        conv = self._conv
        if conv is None:
            self.fit = self.fit_for(order)
            conv = self._conv = ModeConvolution(
                self.fit.rates, self.exact_lags, self.block, u_prev.shape, u_prev.dtype, u_prev.device
            )
        else:
            self.check_shape(u_prev)
            self.check_like(u_prev, conv.modes)
        if conv.amp is None:
            conv.set_weights(*self.kernel_weights(order, conv, u_prev))
        if conv.n >= self.horizon and not self._warned:
            self._warned = True
            warnings.warn(
                f"soe memory: the sequence passed its horizon of {self.horizon} steps; beyond it the "
                "kernel error grows like tol*(k/horizon)^(1+alpha). Pass "
                "memory_options={'horizon': ...} for longer sequences.",
                RuntimeWarning,
                stacklevel=3,
            )
        return step(conv, u_prev)

    @property
    def has_graph(self) -> bool:
        """Whether the recorded past is part of an autograd graph (steps recorded since the last
        reset/detach)."""
        return self._conv is not None and self._conv.chain is not None and self._conv.chain.requires_grad

    @property
    def convolution(self) -> ModeConvolution | None:
        """The running sequence's convolution (its kernel: ``lag_weights``, ``fresh()``)."""
        return self._conv

    @staticmethod
    def lag_weights(conv: ModeConvolution, lags: int) -> torch.Tensor:
        """ρ_1 … ρ_lags of ``conv``'s kernel (weights set), ``[lags, P]``, without a graph: the
        exact head and the block's tail as the convolution holds them, then Σ_q a_q λ_q^{k−k0−1}
        (a short fused sequence's adjoint sums them directly, :mod:`fracneuron.memory.sequence`)."""
        k0, L = conv.head, conv.block
        table = conv.head_table.detach()  # table[i, l] = ρ_{i+k0−l}
        near = torch.cat([table[0].flip(0), table[1:, 0]])  # ρ_1 … ρ_{k0+L−1}
        if lags <= near.shape[0]:
            return near[:lags]
        k = torch.arange(k0 + L, lags + 1, dtype=torch.float64, device=near.device)  # powers in float64, as the tables
        powers = torch.exp(-(k - k0 - 1)[:, None] * conv.rates.to(device=near.device, dtype=torch.float64)[None, :])
        return torch.cat([near, powers.to(near.dtype) @ conv.amp.detach()])

    def adjoint(self) -> "SoeMemory":
        new = self.spawn()
        new.fit = self.fit
        if self._conv is not None and self._conv.amp is not None:
            new._conv = self._conv.fresh()
        return new

    def reset(self) -> None:
        self._conv = None

    def detach(self) -> None:
        if self._conv is not None:
            self._conv = self._conv.continued(lambda t: t)

    def apply(self, fn) -> None:
        if self._conv is not None:
            self._conv = self._conv.continued(fn)

    def fork(self) -> "SoeMemory":
        new = copy.copy(self)
        if self._conv is not None:
            new._conv = self._conv.fork()
        return new

    def spawn(self) -> "SoeMemory":
        return type(self)(self.tol, self.horizon, self.exact_lags, self.block)

    def state_values(self) -> torch.Tensor | None:
        conv = self._conv
        if conv is None:
            return None
        return torch.cat([conv.modes, conv.rows(conv.n - conv.head, conv.n)])

    def __getstate__(self):
        # deepcopy/pickle carry the past values, never the autograd graph; the copy recomputes
        # its weights from the order at its next step (the same values)
        state = self.__dict__.copy()
        if self._conv is not None:
            state["_conv"] = self._conv.continued(lambda t: t)
        return state

    @property
    def steps(self) -> int:
        return 0 if self._conv is None else self._conv.n

    @property
    def state_shape(self) -> torch.Size | None:
        return None if self._conv is None else self._conv.shape

    @property
    def modes(self) -> int | None:
        """K, the number of exponential modes per neuron (``None`` before the first fit)."""
        return None if self.fit is None else self.fit.modes

    def describe(self) -> str:
        modes = "?" if self.fit is None else self.fit.modes
        return f"soe(tol={self.tol:g}, modes={modes}, exact_lags={self.exact_lags}, horizon={self.horizon})"

    # ------------------------------------------------------------ the fit
    def fit_for(self, order: FractionalOrder) -> SoeRates:
        """The rates for ``order``'s current α (every term and neuron), from ``tol`` and ``horizon``."""
        a = order.alphas().detach().double().flatten()
        a = a[a < 1.0]  # α = 1 terms have no tail
        lo, hi = (float(a.min()), float(a.max())) if a.numel() else (0.99, 0.99)
        lo = math.floor(lo * 100) / 100 or lo
        hi = min(math.ceil(hi * 100) / 100, 0.999)
        return fit_rates(self.tol, self.horizon, self.exact_lags, lo, max(lo, hi))

    def kernel_weights(self, order: FractionalOrder, conv: ModeConvolution, like: torch.Tensor):
        """(near, amp) for :meth:`ModeConvolution.set_weights`: ρ_k = −ω̂_k for k = 1..k0+L−1
        (reversed, [k0+L−1, P]) and a = −b ([K, P]); P = 1, or the number of features when α is
        per neuron."""
        k0, L = self.exact_lags, self.block
        omega = correction_weights(order.gl(k0, like.dtype, like.device)[0])[1:]  # [k0, *A]
        alphas = order.alphas().to(device=like.device, dtype=torch.float64)
        coefficients = order.coefficients()
        if coefficients is not None:
            coefficients = coefficients.to(device=like.device, dtype=torch.float64)
        b, _ = combine_terms(alphas, coefficients, order.step_size, lambda a: soe_amplitudes(a, self.fit))
        b = b.to(like.dtype)  # [K, *A]
        K, per_neuron_shape = b.shape[0], b.shape[1:]
        tail = conv.powers[: L - 1] @ b.reshape(K, -1)  # ω̂_{k0+1} … ω̂_{k0+L-1}
        near = -torch.cat([omega.reshape(k0, -1), tail]).flip(0)
        amp = -b.reshape(K, -1)
        if math.prod(per_neuron_shape) > 1:  # one kernel per neuron: broadcast α's shape to the features
            features = like.shape[1:]
            near = near.reshape(-1, *per_neuron_shape).expand(-1, *features).reshape(near.shape[0], -1)
            amp = amp.reshape(K, *per_neuron_shape).expand(K, *features).reshape(K, -1)
        return near, amp
