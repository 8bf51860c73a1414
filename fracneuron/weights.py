r"""Convolution weights of the discrete Caputo derivative, differentiable in the order α.

Notation: uniform step h, u_k = y_k − y_0 (Caputo: the derivative acts on the deviation from the
initial value), f_j = f(t_j, y_j). Every function takes ``alpha`` as a float or a tensor of any
shape ``A`` (one order per neuron, say) and returns weights of shape ``[n + 1, *A]``: index k along
dim 0 is the weight of lag k. Powers with base 0 are handled explicitly, so nothing evaluates
``0 ** 0`` at α = 1 and no gradient meets ``log(0)``; Γ appears only through ``lgamma``.

| function | scheme it serves |
|---|---|
| ``gl_weights`` | Grünwald–Letnikov: D^α u(t_n) ≈ h^{-α} Σ_{k=0}^{n} w_k u_{n-k}, w_0 = 1, w_k = w_{k-1} (1 − (α+1)/k) |
| ``gl_weights_at`` | the same w_k at chosen lags, in closed form (no recursion through all lags) |
| ``l1_weights`` | L1: D^α u(t_n) ≈ h^{-α}/Γ(2−α) Σ_{k=0}^{n-1} b_k (u_{n-k} − u_{n-k-1}), b_k = (k+1)^{1−α} − k^{1−α} |
| ``rectangle_weights`` | product rectangle (fractional Adams–Bashforth): y_n = y_0 + h^α Σ_{j=0}^{n-1} b_{n-1-j} f_j, b_m = ((m+1)^α − m^α)/Γ(α+1) |
| ``trapezoid_weights`` | product trapezoid (Adams–Moulton corrector): y_n = y_0 + h^α [a_0 f_n + Σ_{j=1}^{n-1} a_{n-j} f_j + s_n f_0], a_0 = 1/Γ(α+2), a_m = ((m+1)^{α+1} − 2m^{α+1} + (m−1)^{α+1})/Γ(α+2), s_n = ((n−1)^{α+1} − (n−1−α) n^α)/Γ(α+2) (``trapezoid_start_weights``) |
| ``combined_gl_weights`` | multi-term Σ_i c_i D^{α_i} u: normalised weights and increment scale |
| ``combine_terms`` | the same normalised combination of any per-term quantity linear in the weights (the SOE amplitudes of :mod:`fracneuron.soe_fit`, say) |

At α = 1 each reduces exactly to its classical counterpart (w = [1, −1, 0, …], b = [1, 0, …],
trapezoid weights [1/2, 1, 1, …] with start weight 1/2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ._checks import check_alpha

__all__ = [
    "gl_weights",
    "gl_weights_at",
    "l1_weights",
    "rectangle_weights",
    "trapezoid_weights",
    "trapezoid_start_weights",
    "combined_gl_weights",
    "combine_terms",
    "correction_weights",
]


def _alpha_tensor(alpha: float | torch.Tensor, dtype: torch.dtype | None, device) -> torch.Tensor:
    check_alpha(alpha)
    if isinstance(alpha, torch.Tensor):
        return alpha.to(dtype=dtype or alpha.dtype, device=device or alpha.device)
    return torch.tensor(float(alpha), dtype=dtype or torch.float64, device=device)


def _lags(n: int, alpha: torch.Tensor, start: int = 0) -> torch.Tensor:
    """Integers start..n as a column that broadcasts against ``alpha`` (shape [n+1-start, 1, ...])."""
    k = torch.arange(start, n + 1, dtype=alpha.dtype, device=alpha.device)
    return k.reshape(-1, *([1] * alpha.dim()))


def _pow(base: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
    """base ** exponent for a constant base ≥ 0, with 0 ** p := 0 (the limit from p > 0).

    Plain ``torch.pow`` gives 0 ** 0 = 1 at α = 1 (a published L1/trapezoid bug) and a NaN
    gradient in the exponent at base 0; routing base 0 through 1 avoids both.
    """
    positive = base > 0
    safe = torch.where(positive, base, torch.ones_like(base))
    return torch.where(positive, safe**exponent, torch.zeros_like(safe * exponent))


def gl_weights(
    alpha: float | torch.Tensor, n: int, *, dtype: torch.dtype | None = None, device=None
) -> torch.Tensor:
    """Grünwald–Letnikov weights w_0..w_n, shape ``[n + 1, *alpha.shape]``.

    w_k = Π_{j=1}^{k} (1 − (α+1)/j) = (−1)^k binom(α, k); a cumulative product, so the gradient in
    α is exact and the α = 1 values are exactly [1, −1, 0, 0, …].
    """
    a = _alpha_tensor(alpha, dtype, device)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return _gl(a, n)


def _gl(a: torch.Tensor, n: int) -> torch.Tensor:
    """:func:`gl_weights` of an order tensor already checked (no host read: a per-block path)."""
    # the products run along the last (contiguous) dimension, the lags last: down the first
    # dimension of [n, *A] the CPU's cumulative product and its backward are several times slower
    # (measured, float64 [64, 1024]: 560 vs 70 µs forward); the same products in the same order
    lags = torch.arange(1, n + 1, dtype=a.dtype, device=a.device)
    factors = 1.0 - (a.unsqueeze(-1) + 1.0) / lags
    ones = torch.ones((1, *a.shape), dtype=a.dtype, device=a.device)
    return torch.cat([ones, torch.cumprod(factors, dim=-1).movedim(-1, 0)], dim=0)


def gl_weights_at(
    alpha: float | torch.Tensor, lags: torch.Tensor, *, dtype: torch.dtype | None = None, device=None
) -> torch.Tensor:
    r"""Grünwald–Letnikov weights w_k at the integer lags ``lags`` (≥ 1), shape ``[len(lags), *A]``.

    Closed form, for a long kernel sampled at a few lags:

        w_k = Γ(k−α) / (Γ(−α) Γ(k+1)) = −(sin πα / π) Γ(1+α) Γ(k−α) / Γ(k+1),   k ≥ 2,

    and w_1 = −α. The reflection form keeps α = 1 finite (w_k = 0 for k ≥ 2, with a finite
    gradient). Agrees with :func:`gl_weights` to a few ulps times log k (lgamma differences).
    """
    a = _alpha_tensor(alpha, dtype, device)
    k = torch.as_tensor(lags, dtype=a.dtype, device=a.device)
    if k.dim() != 1 or (k < 1).any():
        raise ValueError("lags must be a 1-d tensor of integers >= 1")
    k = k.reshape(-1, *([1] * a.dim()))
    sin_pi_alpha = torch.sin(torch.pi * torch.minimum(a, 1.0 - a))  # exact 0 at α = 1
    first = k == 1
    k_tail = torch.where(first, torch.full_like(k, 2.0), k)  # keep lgamma away from Γ(1−α) at k = 1
    log_ratio = torch.lgamma(k_tail - a) - torch.lgamma(k_tail + 1.0) + torch.lgamma(1.0 + a)
    tail = -sin_pi_alpha / torch.pi * torch.exp(log_ratio)
    return torch.where(first, -a.expand_as(tail), tail)


def l1_weights(
    alpha: float | torch.Tensor, n: int, *, dtype: torch.dtype | None = None, device=None
) -> torch.Tensor:
    """L1 weights b_k = (k+1)^{1−α} − k^{1−α}, k = 0..n, with b_0 = 1 for every α (incl. α = 1)."""
    a = _alpha_tensor(alpha, dtype, device)
    k = _lags(n, a)
    return _pow(k + 1.0, 1.0 - a) - _pow(k, 1.0 - a)


def rectangle_weights(
    alpha: float | torch.Tensor, n: int, *, dtype: torch.dtype | None = None, device=None
) -> torch.Tensor:
    """Product-rectangle weights b_m = ((m+1)^α − m^α)/Γ(α+1), m = 0..n (multiply h^α f)."""
    a = _alpha_tensor(alpha, dtype, device)
    k = _lags(n, a)
    return (_pow(k + 1.0, a) - _pow(k, a)) / torch.exp(torch.lgamma(a + 1.0))


def trapezoid_weights(
    alpha: float | torch.Tensor, n: int, *, dtype: torch.dtype | None = None, device=None
) -> torch.Tensor:
    """Product-trapezoid weights a_0..a_n (a_0 multiplies the implicit f_n), over Γ(α+2)."""
    a = _alpha_tensor(alpha, dtype, device)
    k = _lags(n, a)
    p = a + 1.0
    interior = _pow(k + 1.0, p) - 2.0 * _pow(k, p) + _pow(k - 1.0, p)
    first = torch.ones((1, *a.shape), dtype=a.dtype, device=a.device)
    weights = torch.cat([first, interior[1:]], dim=0)
    return weights / torch.exp(torch.lgamma(a + 2.0))


def trapezoid_start_weights(
    alpha: float | torch.Tensor, n: int, *, dtype: torch.dtype | None = None, device=None
) -> torch.Tensor:
    """Weights s_0..s_n of f_0 in step n of the product trapezoid (s_0 = 0), over Γ(α+2)."""
    a = _alpha_tensor(alpha, dtype, device)
    k = _lags(n, a)
    p = a + 1.0
    start = _pow(k - 1.0, p) - (k - 1.0 - a) * _pow(k, a)
    start = torch.where(k > 0, start, torch.zeros_like(start))
    return start / torch.exp(torch.lgamma(a + 2.0))


def combine_terms(
    alphas: torch.Tensor,
    coefficients: torch.Tensor | None,
    step_size: float,
    term: Callable[[torch.Tensor], torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Σ_i γ_i term(α_i) with γ_i = c_i h^{-α_i} / W_0, W_0 = Σ_i c_i h^{-α_i}; and s = 1/(h W_0).

    ``alphas`` has shape ``[M, *A]`` (M terms), ``coefficients`` shape ``[M]`` (None: one term).
    ``term(α_i)`` returns a per-term quantity that is linear in the GL weights of order α_i
    (the weights themselves, or their sum-of-exponentials amplitudes), shape ``[n, *A]``.
    A single term without coefficients returns ``term(α)`` itself and s = h^{α−1} (exactly 1 at
    α = 1 with h = 1).
    """
    if alphas.dim() == 0:
        raise ValueError("alphas must have a leading term dimension, shape [M, ...]")
    h = torch.as_tensor(step_size, dtype=alphas.dtype, device=alphas.device)
    if alphas.shape[0] == 1 and coefficients is None:
        a = alphas[0]
        return term(a), torch.pow(h, a - 1.0)
    if coefficients is None:
        coefficients = torch.ones(alphas.shape[0], dtype=alphas.dtype, device=alphas.device)
    c = coefficients.to(alphas.dtype).reshape(-1, *([1] * (alphas.dim() - 1)))
    scaled = c * torch.pow(h, -alphas)  # c_i h^{-α_i}, shape [M, *A]
    total = sum(scaled[i] * term(alphas[i]) for i in range(alphas.shape[0]))
    w0 = scaled.sum(dim=0)
    return total / w0, 1.0 / (h * w0)


def combined_gl_weights(
    alphas: torch.Tensor,
    coefficients: torch.Tensor | None,
    n: int,
    step_size: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Normalised GL weights and increment scale for Σ_i c_i D^{α_i} u = f.

    ``alphas`` has shape ``[M, *A]`` (M terms), ``coefficients`` shape ``[M]`` (None: one term).
    With W_k = Σ_i c_i h^{-α_i} w^{(α_i)}_k the explicit step is

        u_n = s · (h f_{n-1}) − Σ_{k=1}^{n} w̃_k u_{n-k},     w̃_k = W_k / W_0,   s = 1 / (h W_0)

    so ``h f`` is the framework's own (Euler) increment. Returns ``(w̃ [n+1, *A], s [*A])``.
    A single term returns the plain GL weights and s = h^{α−1} (exactly 1 at α = 1).
    """
    # the orders come from a FractionalOrder, checked when set: no per-call host read of α
    return combine_terms(alphas, coefficients, step_size, lambda a: _gl(a, n))


def correction_weights(weights: torch.Tensor) -> torch.Tensor:
    r"""ω with ω_1 = w̃_1 + 1 and ω_k = w̃_k otherwise (ω_0 = 0).

    The fractional step written relative to the Markovian one,

        v_n = v_{n-1} + s Δ_n + c_n,     c_n = −Σ_{k=1}^{n} ω_k u_{n-k},

    needs ω; at α = 1 every ω_k is exactly 0, so c_n = 0 and the native update is reproduced bit
    for bit.
    """
    omega = weights.clone()
    omega[0] = 0.0
    omega[1] = omega[1] + 1.0
    return omega

