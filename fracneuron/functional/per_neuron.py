r"""Products of a kernel that is one per neuron with a batch of states, as element-wise sums.

Weights are ``[·, F]`` (one value per neuron, broadcast over the batch), states ``[·, B, F]``.
These are what the per-neuron ``soe`` and ``exact`` kernels need:

    weighted_rows:   y = Σ_n w_n ⊙ x_n                                   ([n, F], [n, B, F] -> [B, F])
    batch_dots:      D_n = Σ_b x_{n,b} ⊙ g_b                             ([n, B, F], [B, F] -> [n, F])
    dot_rows:        d = Σ_n Σ_b a_{n,b} ⊙ b_{n,b}                       ([n, B, F], [n, B, F] -> [F])
    add_table:       out_i += Σ_l W_{i,l} ⊙ x_l                          ([I, J, F], [J, B, F] -> [I, B, F])
    pair_sums:       D_{r,c} = Σ_b a_{r,b} ⊙ b_{c,b}                     ([R, B, F], [C, B, F] -> [R, C, F])

Written as a few vectorised multiply-adds along the neurons: the same sums as an ``einsum`` with
the neurons as its batch dimension, which the CPU runs as one tiny matrix product per neuron
(copying each operand first) and which costs several times more.
"""

from __future__ import annotations

import torch

__all__ = ["weighted_rows", "batch_dots", "dot_rows", "add_table", "pair_sums"]

#: elements of a row from which :func:`dot_rows` adds row by row (measured, one thread: a
#: [32, 256] row is faster as one product, a [32, 1024] one row by row, and without an [n, B, F]
#: product that the allocator maps afresh)
LARGE_ROW = 1 << 15
#: elements of the products :func:`weighted_rows` and :func:`batch_dots` form at a time: a bounded
#: temporary whatever the rows (measured, one thread, [32, 1024] rows: chunks of 32 beat one
#: multiply-add per row by 10–20 % from 16 rows to 256)
CHUNK_ELEMENTS = 1 << 20


def _chunk_rows(x: torch.Tensor) -> int:
    """Rows of ``x`` [n, ...] per chunk of at most :data:`CHUNK_ELEMENTS` elements."""
    return max(1, CHUNK_ELEMENTS // max(1, x[0].numel())) if x.shape[0] else 1


def weighted_rows(w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Σ_n w[n] ⊙ x[n]: ``w`` [n, F], ``x`` [n, B, F] -> a new [B, F] (a product of a chunk of
    rows, summed, at a time)."""
    rows = _chunk_rows(x)
    out = (x[:rows] * w[:rows].unsqueeze(1)).sum(0)
    for i in range(rows, x.shape[0], rows):
        out += (x[i : i + rows] * w[i : i + rows].unsqueeze(1)).sum(0)
    return out


def batch_dots(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """D[n] = Σ over the batch of x[n] ⊙ g: ``x`` [n, B, F], ``g`` [B, F] -> a new [n, F]."""
    rows = _chunk_rows(x)
    out = x.new_empty((x.shape[0], x.shape[2]))
    for i in range(0, x.shape[0], rows):
        torch.sum(x[i : i + rows] * g, 1, out=out[i : i + rows])
    return out


def dot_rows(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """out = Σ_n Σ over the batch of a[n] ⊙ b[n]: ``a``, ``b`` [n, B, F] -> ``out`` [F], returned."""
    if a.shape[0] == 0 or a.shape[1:].numel() < LARGE_ROW:  # small rows: one product, then its sum
        return torch.sum(a * b, (0, 1), out=out)
    return torch.sum(_multiply_add_rows(a, b), 0, out=out)


def _multiply_add_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Σ_n a[n] ⊙ b[n] (b[n] broadcast to a[n]'s shape) as a new row, one multiply-add per row:
    no [n, B, F] product in fresh memory to read again."""
    out = torch.mul(a[0], b[0])
    for n in range(1, a.shape[0]):
        out.addcmul_(a[n], b[n])
    return out


def add_table(out: torch.Tensor, table: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """out[i] += Σ_l table[i, l] ⊙ x[l] in place and returned: ``out`` [I, B, F], ``table``
    [I, J, F], ``x`` [J, B, F]."""
    for l in range(table.shape[1]):
        out.addcmul_(table[:, l].unsqueeze(1), x[l])
    return out


def pair_sums(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """D[r, c] = Σ over the batch of a[r] ⊙ b[c]: ``a`` [R, B, F], ``b`` [C, B, F] -> [R, C, F]."""
    out = a.new_empty((a.shape[0], b.shape[0], a.shape[2]))
    for c in range(b.shape[0]):
        torch.sum(a * b[c], 1, out=out[:, c])
    return out
