"""The append-only, copy-on-write buffer of stored past values behind the history kernels.

Both :mod:`.stored_history` (the ``exact`` and ``window`` engines) and :mod:`.exponential_modes`
(the ``soe`` engine) keep the states they still read in one buffer, written once per step and
never rewritten below ``claimed``: a handle that continues from fewer rows copies first, so a past
handed out stays what it was whatever either continuation does next.
"""

from __future__ import annotations

import torch

__all__ = ["PastStore"]


class PastStore:
    """Stored past values along ``data``'s row axis (row i holds x_{offset+i}): ``[P, C, Q]``
    here, ``[C, Q]`` for the mode kernel. Rows below ``claimed`` are final and shared by every
    handle that reads them; a handle continuing from fewer rows copies first."""

    __slots__ = ("data", "offset", "claimed", "axis")

    def __init__(self, data: torch.Tensor, offset: int, claimed: int, axis: int = 1) -> None:
        self.data, self.offset, self.claimed, self.axis = data, offset, claimed, axis

    @property
    def capacity(self) -> int:
        return self.data.shape[self.axis]

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """Stored x_start … x_{stop-1} (a view)."""
        return self.data.narrow(self.axis, start - self.offset, stop - start)

    def owned_by(self, n: int, last: int) -> bool:
        """May a handle that has read ``n`` rows write rows n … last − 1 here in place?"""
        return self.claimed == n and last - self.offset <= self.capacity

    def moved(self, n: int, lo: int, last: int, like: torch.Tensor, spare: torch.Tensor | None = None) -> "PastStore":
        """A new store holding rows lo … n − 1 with room up to ``last`` (doubling when it grows),
        in ``spare`` (a buffer no one else reads) when it has the new store's shape."""
        capacity = self.capacity if last - lo <= self.capacity else max(2 * self.capacity, last - lo)
        shape = list(self.data.shape)
        shape[self.axis] = capacity
        data = spare if spare is not None and list(spare.shape) == shape else like.new_empty(shape)
        data.narrow(self.axis, 0, n - lo).copy_(self.rows(lo, n))
        return PastStore(data, lo, n, self.axis)
