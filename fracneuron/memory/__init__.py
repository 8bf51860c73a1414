"""History engines: what a fractional neuron remembers of its past, and at what cost.

=========  ===============================  ==============  =====================================
name       keeps                            cost per step   error
=========  ===============================  ==============  =====================================
exact      every past state                 O(n·N)          none beyond the GL scheme (O(h))
window     the last L states                O(L·N)          the dropped tail; does not shrink with h
=========  ===============================  ==============  =====================================

Engines are looked up by name in :data:`fracneuron.plugins.memories`; plugins add more.
"""

from .base import FractionalMemory, MemoryEngine, StateShapeError
from .exact import ExactMemory
from .window import WindowMemory

__all__ = ["FractionalMemory", "MemoryEngine", "StateShapeError", "ExactMemory", "WindowMemory", "names"]


def names() -> list[str]:
    """Every registered memory engine name."""
    from ..plugins import memories

    return memories.names()
