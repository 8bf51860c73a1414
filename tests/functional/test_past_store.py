"""The copy-on-write store of past values: rows handed out never change, moves keep every row
still read, growth doubles, and a spare buffer is used only when it has the new store's shape."""

from __future__ import annotations

import torch

from fracneuron.functional.past_store import PastStore


def _filled(rows: int, capacity: int, axis: int = 1) -> PastStore:
    shape = [2, capacity, 3] if axis == 1 else [capacity, 3]
    data = torch.full(shape, float("nan"))
    store = PastStore(data, 0, 0, axis)
    for i in range(rows):
        data.select(axis, i).fill_(float(i))
    store.claimed = rows
    return store


def test_rows_are_logical_indices_past_the_offset():
    store = _filled(5, 8)
    moved = store.moved(5, 2, 6, store.data)  # keep x_2 … x_4
    assert moved.offset == 2 and moved.claimed == 5
    assert torch.equal(moved.rows(2, 5), store.rows(2, 5))
    assert torch.equal(moved.rows(3, 4), torch.full((2, 1, 3), 3.0))


def test_only_the_handle_that_read_every_claimed_row_writes_in_place():
    store = _filled(5, 8)
    assert store.owned_by(5, 8)
    assert not store.owned_by(4, 8)  # a fork that continues from fewer rows must copy first
    assert not store.owned_by(5, 9)  # no room: it must grow


def test_a_move_leaves_the_old_rows_as_they_were():
    store = _filled(4, 4, axis=0)
    before = store.rows(0, 4).clone()
    moved = store.moved(4, 0, 6, store.data)
    moved.data[4] = 99.0
    assert torch.equal(store.rows(0, 4), before)
    assert moved.capacity == 8  # doubled (room for 6 asked)
    assert moved.data.data_ptr() != store.data.data_ptr()


def test_growth_past_double_takes_what_is_asked():
    store = _filled(3, 4)
    assert store.moved(3, 0, 20, store.data).capacity == 20


def test_a_spare_buffer_is_used_only_when_it_has_the_new_shape():
    store = _filled(4, 4, axis=0)
    right, wrong = torch.empty(4, 3), torch.empty(5, 3)
    assert store.moved(4, 1, 5, store.data, spare=right).data is right
    assert store.moved(4, 1, 5, store.data, spare=wrong).data is not wrong
