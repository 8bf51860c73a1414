"""What Python's cycle collector would have to free after a call: objects that plain reference
counting leaves behind (a reference cycle holding tensors keeps a sequence's buffers alive until
the collector runs: memory freed late, the heap grown and trimmed again, fresh pages per call)."""

from __future__ import annotations

import collections
import gc


def cycle_garbage(run) -> collections.Counter:
    """Types (and counts) of fracneuron's objects that only the cycle collector frees after
    ``run()`` (run once before, so set-up objects and caches are not counted). Only ours: torch's
    own caches, once a model was compiled, may let go of cyclic objects (and tensors) of theirs at
    any call; a cycle through our objects holds theirs (a state its stored past, say)."""
    run()
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        run()
        gc.collect()
        return collections.Counter(type(o).__name__ for o in gc.garbage if _ours(o))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


def _ours(obj) -> bool:
    return type(obj).__module__.startswith("fracneuron")
