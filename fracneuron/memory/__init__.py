"""History engines: what a fractional neuron remembers of its past, and at what cost.

| name | keeps | cost per step | error |
|---|---|---|---|
| ``exact`` | every past state | O(n·N) | none beyond the GL scheme (O(h)) |
| ``window`` | the last L states | O(L·N) | the dropped tail; does not shrink with h |
| ``soe`` | K exponential modes + k0 lags | O(K·N) | kernel within ``tol`` (relative) up to ``horizon`` steps: abs(Δc_n) ≤ tol·(1−α)·max abs(u) |

``exact`` and ``window`` build on :mod:`~fracneuron.functional.stored_history` (a stored causal
convolution), ``soe`` on :mod:`~fracneuron.functional.exponential_modes` (a blocked exponential-sum recurrence).
When to use which, with numbers: the memory engines guide (``docs/memory.md``).

Engines are looked up by name in :data:`fracneuron.plugins.memories`; plugins add more.
"""

from .engine import MemoryEngine, StateShapeError
from .fractional import FractionalMemory
from .state import FractionalState
from .exact import ExactMemory
from .soe import SoeMemory
from .window import WindowMemory

__all__ = ["FractionalMemory", "FractionalState", "MemoryEngine", "StateShapeError", "ExactMemory", "WindowMemory", "SoeMemory", "names"]


def names() -> list[str]:
    """Every registered memory engine name."""
    from ..plugins import memories

    return memories.names()
