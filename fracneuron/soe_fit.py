r"""Sum-of-exponentials (SOE) fit of the Grünwald–Letnikov kernel tail, differentiable in α.

The GL weights are an exact Laplace transform (k ≥ 1, 0 < α ≤ 1; from the Beta integral
Γ(k−α)Γ(1+α)/Γ(k+1) = ∫_0^∞ e^{−s(k−α)} (1 − e^{−s})^α ds):

    w_k = −(sin πα / π) ∫_0^∞ e^{−sk} (e^s − 1)^α ds .

Keep lags k ≤ k0 exact and write the tail relative to its first lag, k = k0 + 1 + j (j ≥ 0).
The trapezoid rule in x = log s with step h and nodes s_q = e^{x_q} gives

    w_{k0+1+j} ≈ Σ_{q=1}^{K} b_q e^{−s_q j},   b_q(α) = −(sin πα / π) h s_q e^{−s_q (k0+1)} (e^{s_q} − 1)^α

(Beylkin–Monzón-style quadrature of the integral representation, applied to the *exact* weights,
not to their k^{−α−1}/Γ(−α) asymptote). The rates s_q do not depend on α; the amplitudes b_q(α)
are smooth closed-form functions of α, so a learnable α gets the exact derivative of the fitted
kernel, itself the same quadrature applied to ∂w_k/∂α. At α = 1 every b_q is exactly 0.

Error budget (relative error of every tail weight k0 < k ≤ ``horizon``, ``tol`` in total):

* discretisation: the trapezoid error of ∫ e^{βx − e^x k} dx is ≈ 2|Γ(β + 2πi/h)|/Γ(β) relative,
  β = 1 + α, uniformly in k; h is the largest step with this ≤ tol/2;
* large rates: nodes above s_max, where ∫_{s_max}^∞ (k = k0+1) ≤ tol/4 relative;
* small rates: nodes below s_min, where ∫_0^{s_min} (k = horizon) ≤ tol/4 relative.

The smallest reachable ``tol`` (:func:`smallest_tol`). The exact weights the fit is measured
against are exp(lnΓ(k−α) − lnΓ(k+1) + …), and lnΓ(k+1) ≈ k ln k is rounded to ≈ eps·lnΓ(k+1)
absolute, hence relative in w_k: no fit can be *shown* better than ≈ eps·lnΓ(horizon+1). Measured
(float64, horizon 2 … 10^6, exact_lags 1 … 64, α ranges from [0.0005, 0.0005] to [0.01, 0.999]):
the fit stops improving at 0.9–1.0 × eps·lnΓ(horizon+1) (1.9e-10 at horizon 10^5), and every
tol ≥ 1.5 × that was reached for every α range; :func:`smallest_tol` asks for 4 ×.

K = number of nodes in [s_min, s_max]. The result is then *measured* against the exact weights
(every lag up to k0 + 64, then 60 lags per decade up to the horizon) and h is shrunk until the
measured error is below ``tol``. Beyond the horizon the smallest rates stop resolving the power
law and the relative error grows like tol·(k/horizon)^{1+α}.

Multi-term orders combine the per-term amplitudes exactly like the weights
(:func:`fracneuron.weights.combine_terms`); all their terms share one set of rates.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .weights import gl_weights_at

__all__ = ["SoeRates", "fit_rates", "smallest_tol", "check_fit_options", "soe_amplitudes", "tail_error", "sample_lags"]

#: Relative error budget shares (discretisation, large-rate cut, small-rate cut).
_SHARE_STEP, _SHARE_CUT = 0.5, 0.25
#: smallest_tol = this × eps × lnΓ(horizon + 1) (measured floor ≈ 1×, every α range reached at 1.5×)
_TOL_FLOOR_MARGIN = 4.0
#: the largest tol the engine accepts (a looser fit is not a sum-of-exponentials *approximation*)
LARGEST_TOL = 0.1


@dataclass(frozen=True)
class SoeRates:
    """Rates of a sum-of-exponentials kernel tail and what they were fitted for.

    ``rates`` (float64, shape [K]) are the s_q; ``step`` the log-rate spacing h (the quadrature
    weight of every node); ``error`` the measured max relative error of the tail over lags
    (exact_lags, horizon] for orders in [alpha_lo, alpha_hi].
    """

    rates: torch.Tensor
    step: float
    exact_lags: int
    horizon: int
    tol: float
    alpha_lo: float
    alpha_hi: float
    error: float

    @property
    def modes(self) -> int:
        """K, the number of exponential modes."""
        return int(self.rates.numel())


def soe_amplitudes(alpha: torch.Tensor, fit: SoeRates) -> torch.Tensor:
    r"""Amplitudes b_q(α) of the tail w_{k0+1+j} ≈ Σ_q b_q e^{−s_q j}, shape ``[K, *alpha.shape]``.

    Differentiable in α (float64 recommended); exactly 0 at α = 1.
    """
    s = fit.rates.to(device=alpha.device, dtype=alpha.dtype).reshape(-1, *([1] * alpha.dim()))
    sin_pi_alpha = torch.sin(torch.pi * torch.minimum(alpha, 1.0 - alpha))  # exact 0 at α = 1
    log_density = alpha * torch.log(torch.expm1(s)) - s * (fit.exact_lags + 1) + torch.log(s)
    return -sin_pi_alpha / torch.pi * fit.step * torch.exp(log_density)


def sample_lags(exact_lags: int, horizon: int) -> torch.Tensor:
    """Tail lags k the fit is measured at: every lag up to k0 + 64, then 60 per decade."""
    dense = torch.arange(exact_lags + 1, min(exact_lags + 65, horizon) + 1, dtype=torch.float64)
    if horizon <= exact_lags + 64:
        return dense
    decades = math.log10(horizon / (exact_lags + 64))
    sparse = torch.logspace(math.log10(exact_lags + 64), math.log10(horizon), max(2, int(60 * decades) + 1), dtype=torch.float64)
    return torch.unique(torch.cat([dense, sparse.round()]))


def tail_error(alpha: float, fit: SoeRates, lags: torch.Tensor | None = None) -> float:
    """Max relative error |ŵ_k − w_k| / |w_k| of the fitted tail at ``lags`` (default: the samples)."""
    if lags is None:
        lags = sample_lags(fit.exact_lags, fit.horizon)
    a = torch.tensor(alpha, dtype=torch.float64)
    exact = gl_weights_at(a, lags)
    j = lags - (fit.exact_lags + 1)
    approx = torch.exp(-j[:, None] * fit.rates[None, :]) @ soe_amplitudes(a, fit)
    return float(((approx - exact).abs() / exact.abs()).max())


def _tail_integral(alpha: float, k: float) -> float:
    """I_k = ∫_0^∞ e^{−sk} (e^s − 1)^α ds = Γ(1+α) Γ(k−α) / Γ(k+1)  (= π |w_k| / sin πα)."""
    return math.exp(math.lgamma(1 + alpha) + math.lgamma(k - alpha) - math.lgamma(k + 1))


def _trapezoid_step(beta: float, budget: float) -> float:
    """Largest h with 2√(2π) y^{β−1/2} e^{−πy/2} / Γ(β) ≤ budget, y = 2π/h (Stirling for |Γ(β+iy)|)."""

    def error(h: float) -> float:
        y = 2 * math.pi / h
        return 2 * math.sqrt(2 * math.pi) * y ** (beta - 0.5) * math.exp(-math.pi * y / 2) / math.gamma(beta)

    lo, hi = 0.01, 3.0
    for _ in range(60):  # the error grows with h: bisect
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if error(mid) <= budget else (lo, mid)
    return lo


def _rate_range(tol: float, horizon: int, exact_lags: int, alphas: tuple[float, ...]) -> tuple[float, float]:
    """[s_min, s_max] so that the dropped small and large rates each cost ≤ tol/4 (worst α)."""
    k = exact_lags + 1
    s_max = max(
        math.log(1.0 / (_SHARE_CUT * tol * _tail_integral(a, k) * (k - a))) / (k - a) for a in alphas
    )
    s_min = min(
        (_SHARE_CUT * tol * (1 + a) * _tail_integral(a, horizon)) ** (1 / (1 + a)) for a in alphas
    )
    return s_min, s_max


def smallest_tol(horizon: int) -> float:
    """The smallest ``tol`` the float64 fit reaches for every α over lags up to ``horizon``:
    4·eps·lnΓ(horizon+1) (see the module docstring), rounded up to two significant digits."""
    floor = _TOL_FLOOR_MARGIN * torch.finfo(torch.float64).eps * max(math.lgamma(horizon + 1.0), 1.0)
    scale = 10.0 ** (math.floor(math.log10(floor)) - 1)
    return math.ceil(floor / scale) * scale


def check_fit_options(tol: float, horizon: int, exact_lags: int, name=lambda option: option) -> None:
    """Raise ``ValueError`` unless a fit with these options exists: ``horizon > exact_lags`` (the
    fit covers the lags exact_lags+1 … horizon) and ``smallest_tol(horizon) <= tol <= 0.1``.
    ``name(option)`` is how the messages call an option (``memory_options['tol']``, say)."""
    if horizon <= exact_lags:
        raise ValueError(
            f"{name('horizon')} must be > {name('exact_lags')} ({exact_lags}), got {horizon}: the fit "
            f"covers the lags after the exact ones, exact_lags+1 … horizon"
        )
    lowest = smallest_tol(horizon)
    if not lowest <= tol <= LARGEST_TOL:
        if lowest > LARGEST_TOL:
            raise ValueError(
                f"{name('horizon')}={horizon} is too long for a float64 fit (it reaches no tol below "
                f"{lowest:g}); choose a horizon below {horizon}"
            )
        raise ValueError(
            f"{name('tol')} must be in [{lowest:g}, {LARGEST_TOL:g}] for {name('horizon')}={horizon}, got {tol!r}: "
            f"the float64 fit cannot reach a smaller relative error over {horizon} lags (ask for a "
            "larger tol or a shorter horizon)"
        )


@functools.lru_cache(maxsize=64)
def fit_rates(tol: float, horizon: int, exact_lags: int, alpha_lo: float, alpha_hi: float) -> SoeRates:
    """Rates for a tail that is accurate to ``tol`` (relative) for every order in [alpha_lo, alpha_hi].

    Deterministic and cached; K grows like log(1/tol)·(log(1/tol)/(1+α) + log horizon).
    """
    if not 0.0 < alpha_lo <= alpha_hi < 1.0:
        raise ValueError(f"need 0 < alpha_lo <= alpha_hi < 1, got {alpha_lo}, {alpha_hi}")
    check_fit_options(tol, horizon, exact_lags)
    checked = tuple(sorted({alpha_lo, 0.5 * (alpha_lo + alpha_hi), alpha_hi}))
    s_min, s_max = _rate_range(tol, horizon, exact_lags, checked)
    h = _trapezoid_step(1.0 + alpha_hi, _SHARE_STEP * tol)
    lags = sample_lags(exact_lags, horizon)
    for _ in range(40):
        x_lo, x_hi = math.log(s_min), math.log(s_max)
        count = math.ceil((x_hi - x_lo) / h) + 1
        x = x_hi - h * torch.arange(count, dtype=torch.float64)  # anchored at s_max
        fit = SoeRates(x.exp().flip(0), h, exact_lags, horizon, tol, alpha_lo, alpha_hi, math.inf)
        error = max(tail_error(a, fit, lags) for a in checked)
        if error <= tol:
            return SoeRates(fit.rates, h, exact_lags, horizon, tol, alpha_lo, alpha_hi, error)
        h *= 0.92
        s_min *= 0.5
    raise RuntimeError(f"SOE fit did not reach tol={tol} (measured {error:.3g}); tol is too small for float64")
