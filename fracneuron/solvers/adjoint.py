r"""``fdeint_adjoint``: the same solution, gradients by the discrete adjoint.

Backpropagation through :func:`~fracneuron.solvers.fdeint` stores, for every step, everything
``func`` computed (a network's activations: memory ∝ T × the network). The adjoint stores only the
states the scheme itself remembers — y_n, the history sums and the right-hand sides f_n, O(T·N)
numbers — and runs backward in time:

* each step's local work (evaluating ``func``, the predictor/corrector or implicit solve) is
  recomputed from the stored state during the backward pass, its vector–Jacobian products taken,
  and discarded again, so ``func``'s intermediates never accumulate;
* a history sum Σ_k ρ_k x_{n-k} is back-propagated by the same convolution transposed,
  ∂L/∂x_j = Σ_{n>j} ρ_{n-j} ∂L/∂(sum_n), accumulated backward in time by
  :mod:`fracneuron.functional.stored_history` (blocked matrix products, no per-step graph), and the weights'
  gradient Σ_n ⟨∂L/∂sum_n, x_{n-k}⟩ gives α its gradient through Γ and the kernels.

This is the exact gradient of the discrete scheme: it equals backpropagation through ``fdeint``
to rounding (≈1e-15 relative in float64), for y0, the parameters of ``func``, α and coefficients.
The output is ``[len(t), *y0.shape]`` like ``fdeint``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils.checkpoint import checkpoint

from .fdeint import Func, solve

__all__ = ["fdeint_adjoint"]


def _recomputed(fn, *args):
    """Run ``fn`` now, keep only its inputs, recompute its inside during the backward pass."""
    if not torch.is_grad_enabled():
        return fn(*args)
    return checkpoint(fn, *args, use_reentrant=False)


def fdeint_adjoint(
    func: Func,
    y0: torch.Tensor,
    t: torch.Tensor,
    alpha: float | torch.Tensor | Sequence[float | torch.Tensor],
    method: str = "gl",
    options: dict | None = None,
) -> torch.Tensor:
    """:func:`~fracneuron.solvers.fdeint` with the adjoint backward pass (same arguments, same
    output); use it when ``func`` is a network whose per-step activations would not fit."""
    return solve(func, y0, t, alpha, method, options, run=_recomputed)
