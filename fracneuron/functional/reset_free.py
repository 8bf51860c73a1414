r"""Parallel-in-time path for reset-free linear fractional nodes: one FFT convolution per sequence.

A node that never fires (a non-spiking readout) and has a linear membrane,

    τ D^α v = −λ (v − v0) + x        (λ = 1: leaky integrator / LIF readout; λ = 0: IF readout),

stepped exactly as the native neurons step it (explicit GL, increment h·f(v_{n-1}, x_n), memory
c_n of :mod:`fracneuron.memory.fractional`, history measured from the anchor v_init), satisfies with
u = v − v_init, a = s·h/τ (s the increment scale) and d = v_init − v0

    Σ_{k=0}^{n} w̃_k u_{n-k} + λ a u_{n-1} = a (x_n − λ d)      (n ≥ 1),       u_0 = 0,

that is A(z) U(z) = B(z) with A(z) = Σ_k w̃_k z^k + λ a z and B(z) = a Σ_{n≥1} (x_n − λ d) z^n. So
U = R·B with R = 1/A (a power series: the node's impulse response), and the whole trajectory is
one causal convolution: O(T log T) work, all steps in parallel, differentiable in x, τ and α.
The result equals stepping the neuron with the ``exact`` engine (to rounding): the full GL
history, no approximation.

Which nodes can use it: any node whose update is linear in its state and input and has *no
reset* — :class:`~fracneuron.neuron.LIFNeuron` / :class:`~fracneuron.neuron.IFNeuron` used as
readouts (threshold never reached, e.g. ``threshold=1e9``), the membrane of an output
layer in a spikeDE-style model. Not spiking layers: the reset (and ALIF's adaptive threshold)
makes the recurrence nonlinear, so they must be stepped (``soe`` makes that O(T)).
"""

from __future__ import annotations

import torch

from ..order import FractionalOrder

__all__ = ["linear_response", "leaky_integrator"]


def _causal_conv(r: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(r * b)_n = Σ_{k=0}^{n} r_k b_{n-k} along dim 0 for n < len(b) (broadcast over the rest)."""
    n = b.shape[0]
    size = 1 << (2 * n - 2).bit_length()  # ≥ 2n − 1: no wrap-around into the first n outputs
    # FFT along the last, contiguous dimension: time-major strided FFTs are several times slower.
    r, b = r.movedim(0, -1).contiguous(), b.movedim(0, -1).contiguous()
    product = torch.fft.rfft(r, size) * torch.fft.rfft(b, size)
    return torch.fft.irfft(product, size)[..., :n].movedim(-1, 0)


def _reciprocal_series(a: torch.Tensor) -> torch.Tensor:
    """R with (A·R) mod z^n = 1 for A = a[0] + a[1] z + … (a [n, *P], a[0] ≠ 0), by Newton's
    iteration R ← R + R·(1 − A·R) mod z^{2m}: O(n log n), differentiable."""
    n = a.shape[0]
    r = 1.0 / a[:1]
    while r.shape[0] < n:
        m = min(2 * r.shape[0], n)
        r = torch.cat([r, r.new_zeros((m - r.shape[0], *r.shape[1:]))])
        excess = _causal_conv(r, a[:m])  # A·R − 1 mod z^m: zero in the first half already
        excess = torch.cat([excess[:1] - 1.0, excess[1:]])
        r = r - _causal_conv(r, excess)
    return r


def linear_response(order: FractionalOrder, steps: int, tau: float | torch.Tensor = 1.0, leak: float = 1.0):
    """(R [steps+1, *A], a [*A]): the impulse response 1/A(z) of the node and its input gain a = s h/τ.

    Computed in float64 (the series inversion is sensitive to rounding).
    """
    w, s = order.gl(steps, torch.float64, order.alphas().device)
    a = s * order.step_size / torch.as_tensor(tau, dtype=torch.float64, device=w.device)
    shape = torch.broadcast_shapes(w.shape[1:], a.shape)  # per-neuron α and/or τ
    w = w.reshape(steps + 1, *([1] * (len(shape) - w.dim() + 1)), *w.shape[1:]).expand(steps + 1, *shape)
    a = a.expand(shape)
    series = torch.cat([w[:1], (w[1] + leak * a).unsqueeze(0), w[2:]])
    return _reciprocal_series(series), a


def leaky_integrator(
    x_seq: torch.Tensor,
    order: FractionalOrder | float,
    tau: float | torch.Tensor = 1.0,
    *,
    leak: float = 1.0,
    v_rest: float = 0.0,
    v_init: torch.Tensor | float | None = None,
) -> torch.Tensor:
    r"""Membrane potentials v_1 … v_T of the reset-free node τ D^α v = −leak·(v − v_rest) + x.

    Args:
        x_seq: inputs ``[T, B, *features]``; step n uses x_seq[n−1], as a multi-step neuron does.
        order: a :class:`~fracneuron.order.FractionalOrder` (learnable, per-neuron, multi-term)
            or a float α.
        tau: τ > 0 (a float or a tensor broadcasting against the features; may require grad).
        leak: 1 for a leaky integrator (``LIFNeuron``), 0 for a perfect one (``IFNeuron``).
        v_rest: the rest level v0; v_init: the potential before the first step (default v_rest).

    Returns ``[T, B, *features]`` in the dtype of ``x_seq``, equal to stepping the native neuron
    with the ``exact`` memory and no spikes (to rounding: the response is computed in float64, the
    convolution over the sequence in the input's dtype).
    """
    if not isinstance(order, FractionalOrder):
        order = FractionalOrder(order)
    T = x_seq.shape[0]
    if order.per_neuron and not order.is_materialized:
        order.materialize(x_seq.shape[2:])
    r, a = linear_response(order, T, tau, leak)
    extra = x_seq.dim() - 1 - a.dim()  # batch (and any leading feature) dims α does not carry
    # The response is built in float64; the long convolution runs in the input's precision.
    r = r.reshape(T + 1, *([1] * extra), *a.shape).to(device=x_seq.device, dtype=x_seq.dtype)
    a = a.reshape(*([1] * extra), *a.shape).to(device=x_seq.device, dtype=x_seq.dtype)
    if v_init is None:  # starts at rest: the anchor is v_rest
        return _causal_conv(r[:T], a * x_seq) + v_rest  # u_n = Σ_{m=1}^{n} R_{n-m} a x_m
    anchor = torch.as_tensor(v_init, dtype=x_seq.dtype, device=x_seq.device)
    return _causal_conv(r[:T], a * (x_seq - leak * (anchor - v_rest))) + anchor
