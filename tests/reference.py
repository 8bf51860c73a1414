"""The one direct Grünwald–Letnikov reference every fractional neuron and memory is checked against.

Written from DESIGN.md's formula only (no fracneuron code), as a plain O(T²) loop over the
definition. With the anchor a = v_0, the state a sequence starts from (Caputo: the derivative acts
on v − v(0)), and the framework's own increment Δ_n = increment(x_{n−1}, v_{n−1}):

    H_n = a + s·Δ_n − Σ_{k=1..n} w̃_k (v_{n−k} − a),        w_0 = 1, w_k = w_{k−1}(1 − (α+1)/k)

H_n is the pre-spike potential; ``fire`` turns it into the step's output and the post-reset state
v_n that joins the history. Multi-term orders Σ_i c_i D^{α_i} with step h use the combined weights
W_k = Σ_i c_i h^{−α_i} w_k^{(α_i)}, normalised: w̃ = W / W_0 and s = 1 / (h·W_0) (for one term
s = h^{α−1}). A memory window L drops the weights beyond lag L.

α may be a float, a list of floats (the terms) or a tensor broadcasting against the state
(per-neuron orders); the arithmetic is whatever α and the inputs are, so a float64 input and a
float α give a float64 reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch


def gl_weights(alpha, n: int) -> list:
    """w_0 … w_n of the Grünwald–Letnikov recurrence w_0 = 1, w_k = w_{k−1}(1 − (α+1)/k)."""
    w = [alpha * 0 + 1.0]  # a tensor α gives tensor weights of its shape
    for k in range(1, n + 1):
        w.append(w[-1] * (1.0 - (alpha + 1.0) / k))
    return w


def combined_weights(alpha, n: int, coefficients: Sequence[float] | None = None, h: float = 1.0) -> tuple[list, object]:
    """(w̃_0 … w̃_n, s) of Σ_i c_i D^{α_i} on a grid of step h (one term: w̃ = w, s = h^{α−1})."""
    alphas = alpha if isinstance(alpha, (list, tuple)) else [alpha]
    coefficients = coefficients or [1.0] * len(alphas)
    terms = [(c * h ** (-a), gl_weights(a, n)) for a, c in zip(alphas, coefficients)]
    total = [sum(scale * w[k] for scale, w in terms) for k in range(n + 1)]
    return [t / total[0] for t in total], 1.0 / (h * total[0])


def history_sum(weights: Sequence, past: Sequence[torch.Tensor], n: int):
    """Σ_{k=1..n} weights[k] · past[n−k]: the memory term of step n (past[0] is the oldest)."""
    return sum(weights[k] * past[n - k] for k in range(1, n + 1))


def gl_run(
    x: torch.Tensor,
    increment: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    alpha,
    coefficients: Sequence[float] | None = None,
    *,
    h: float = 1.0,
    v0: float | torch.Tensor = 0.0,
    window: int | None = None,
    fire: Callable[[torch.Tensor, torch.Tensor], tuple[object, torch.Tensor]] | None = None,
    detach_at: Iterable[int] = (),
) -> list:
    """Step the fractional neuron over x [T, ...]; returns the T outputs of ``fire``.

    increment(x_{n−1}, v_{n−1}) is the framework's own charge step Δ_n. fire(H_n, v_{n−1}) returns
    (output of step n, post-reset state v_n); without it the neuron does not spike (output = v_n = H_n).
    Before each step n in ``detach_at`` the states so far are detached (truncated BPTT by hand).
    """
    steps = x.shape[0]
    w, s = combined_weights(alpha, steps, coefficients, h)
    if window is not None:
        w = [wk if k <= window else 0.0 * wk for k, wk in enumerate(w)]
    detach_at = set(detach_at)
    states = [torch.zeros_like(x[0]) + v0]  # v_0 = a, the anchor
    outputs = []
    for n in range(1, steps + 1):
        if n in detach_at:
            states = [v.detach() for v in states]
        v_prev = states[-1]
        potential = v0 + s * increment(x[n - 1], v_prev) - history_sum(w, [v - v0 for v in states], n)
        output, v = (potential, potential) if fire is None else fire(potential, v_prev)
        states.append(v)
        outputs.append(output)
    return outputs


def threshold_fire(threshold: float = 1.0, v_reset: float | None = 0.0) -> Callable:
    """SpikingJelly's and the native neurons' fire-then-reset: spike where H ≥ threshold, then a hard
    reset to v_reset, or a soft one (subtract the threshold) when v_reset is None.
    Outputs (spike, v_n)."""

    def fire(potential, v_prev):
        spike = (potential >= threshold).to(potential.dtype)
        v = potential - threshold * spike if v_reset is None else spike * v_reset + (1 - spike) * potential
        return (spike, v), v

    return fire
