r"""The block products of a blocked causal history sum (see :mod:`.stored_history`).

For the steps m0 … m0 + B − 1 of a block, the part of y_m = Σ_{j<m} ρ_{m-j} x_j over the values
lo ≤ j < m0 stored before the block is one matrix product, its *far part*

    F[:, B-1-i] = Σ_{lo ≤ j < m0} ρ_{m0+i-j} x_j        (i = 0 … B − 1: Hankel row order)

and its backward (the *flush*) the transposed product, added into the accumulator rows of
x_lo … x_{m0-1}, plus, for learned weights, the gradient of ρ.

Shapes: reversed weights r ``[P, R]`` (r[:, R-k] = ρ_k); stored values ``[P, m0 − lo, Q]``;
block outputs (and their gradients) ``[P, B, Q]`` in Hankel row order.
"""

from __future__ import annotations

import torch

__all__ = ["skew", "far_part", "flush"]


def skew(r: torch.Tensor, block: int) -> torch.Tensor:
    """S[:, i, t] = r[:, t + i] (shape [P, block, R − block + 1]), built once per weights.

    Every block's Hankel matrix is then a column slice of S (:func:`hankel`): an ordinary strided
    matrix the matrix product reads in place. Slicing r itself gives overlapping rows, which the
    product would first copy into a fresh [block, m] buffer each block (memory growing with T).
    """
    return r.detach().unfold(1, block, 1).transpose(1, 2).contiguous()


def hankel(skewed: torch.Tensor, R: int, m0: int, lo: int, block: int) -> torch.Tensor:
    """H[:, i', jj] = r[:, R - m0 - block + 1 + i' + lo + jj]  (shape [P, block, m0 - lo]), a view
    of ``skewed`` = :func:`skew` (r, block) with R = r.shape[1].

    Row i' = block-1-i holds the weights ρ_{m0+i-j} of x_j (j = lo + jj) for step m0 + i.
    """
    base = R - m0 - block + 1 + lo
    return skewed[:, :, base : base + m0 - lo]


def far_part(
    skewed: torch.Tensor, R: int, m0: int, lo: int, values: torch.Tensor, into: torch.Tensor | None = None,
    steps: int | None = None, out: torch.Tensor | None = None, in_place: bool = False,
) -> torch.Tensor:
    """F (module docstring) of the block at m0 from ``values`` = x_lo … x_{m0-1}, plus ``into``
    when given (added in place with ``in_place``); the block size is ``skewed``'s, of which only
    the first ``steps`` steps (the last rows, Hankel row order) when given. Without ``into``, F
    goes into ``out`` when that is a contiguous buffer of F's shape; else into a new tensor."""
    block = skewed.shape[1]
    H = hankel(skewed, R, m0, lo, block)
    if steps is not None:
        H = H[:, block - steps :]
    if into is not None:
        return into.baddbmm_(H, values) if in_place else torch.baddbmm(into, H, values)
    shape = (H.shape[0], H.shape[1], values.shape[2])
    if out is not None and out.shape == shape and out.is_contiguous() and (out.dtype, out.device) == (values.dtype, values.device):
        return torch.bmm(H, values, out=out)
    return torch.bmm(H, values)


def flush(
    grad_values: torch.Tensor,
    grad_out: torch.Tensor,
    skewed: torch.Tensor,
    R: int,
    m0: int,
    lo: int,
    values: torch.Tensor,
    grad_r: torch.Tensor | None,
) -> None:
    """The far part's backward, in place: ``grad_values`` (the accumulator rows of x_lo …
    x_{m0-1}) += Hᵀ ``grad_out`` (F's gradient); with ``grad_r`` also ρ's gradient there."""
    block = skewed.shape[1]
    grad_values.baddbmm_(hankel(skewed, R, m0, lo, block).transpose(1, 2), grad_out)
    if grad_r is not None:
        M = torch.bmm(grad_out, values.transpose(1, 2))  # [P, block, m0 - lo]
        base = R - m0 - block + 1 + lo
        for i in range(block):  # row i of M holds the gradients of r[base + i : base + i + m0 - lo]
            grad_r[:, base + i : base + i + m0 - lo] += M[:, i]
