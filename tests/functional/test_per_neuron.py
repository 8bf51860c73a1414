"""The per-neuron products (fracneuron.functional.per_neuron) against einsum, float64."""

from __future__ import annotations

import pytest
import torch

from fracneuron.functional import per_neuron
from fracneuron.functional.per_neuron import add_table, batch_dots, dot_rows, pair_sums, weighted_rows


def random(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("chunk", [1 << 20, 24, 12, 1])
def test_weighted_rows(chunk, monkeypatch):
    # chunks of 5 (all), 2, 1 rows and the smallest bound: the same sums, and an empty one is zeros
    monkeypatch.setattr(per_neuron, "CHUNK_ELEMENTS", chunk)
    w, x = random(5, 4, seed=1), random(5, 3, 4, seed=2)
    torch.testing.assert_close(weighted_rows(w, x), torch.einsum("nf,nbf->bf", w, x), rtol=1e-14, atol=0)
    empty = weighted_rows(w[:0], x[:0])
    assert empty.shape == (3, 4) and not empty.any()


@pytest.mark.parametrize("chunk", [1 << 20, 24, 1])
def test_batch_dots(chunk, monkeypatch):
    monkeypatch.setattr(per_neuron, "CHUNK_ELEMENTS", chunk)
    x, g = random(5, 3, 4, seed=11), random(3, 4, seed=12)
    torch.testing.assert_close(batch_dots(x, g), torch.einsum("nbf,bf->nf", x, g), rtol=1e-14, atol=0)
    assert batch_dots(x[:0], g).shape == (0, 4)


@pytest.mark.parametrize("large_row", [1 << 15, 1])
def test_dot_rows(large_row, monkeypatch):
    monkeypatch.setattr(per_neuron, "LARGE_ROW", large_row)
    a, b = random(5, 3, 4, seed=9), random(5, 3, 4, seed=10)
    out = torch.empty(4, dtype=torch.float64)
    assert dot_rows(a, b, out) is out
    torch.testing.assert_close(out, torch.einsum("nbf,nbf->f", a, b), rtol=1e-14, atol=0)
    assert not dot_rows(a[:0], b[:0], out).any()


def test_add_table_adds_in_place():
    out, table, x = random(6, 3, 4, seed=3), random(6, 5, 4, seed=4), random(5, 3, 4, seed=5)
    want = out + torch.einsum("ilf,lbf->ibf", table, x)
    got = add_table(out, table, x)
    assert got is out
    torch.testing.assert_close(got, want, rtol=1e-14, atol=1e-15)
    # a transposed (non-contiguous) table, as the backward passes it
    out2 = torch.zeros(5, 3, 4, dtype=torch.float64)
    y = random(6, 3, 4, seed=6)
    torch.testing.assert_close(add_table(out2, table.transpose(0, 1), y), torch.einsum("ilf,ibf->lbf", table, y), rtol=1e-14, atol=1e-15)


def test_pair_sums():
    a, b = random(6, 3, 4, seed=7), random(2, 3, 4, seed=8)
    torch.testing.assert_close(pair_sums(a, b), torch.einsum("rbf,cbf->rcf", a, b), rtol=1e-14, atol=0)
