"""The hooks a fracneuron plugin may implement.

Every hook receives a ``register`` callback, so a plugin is a few lines (the llm pattern)::

    from fracneuron.plugins import hookimpl

    @hookimpl
    def fracneuron_register_memories(register):
        register("ring", RingMemory)

fracneuron's own engines, surrogates, methods and adapters are registered through these same hooks.
"""

from __future__ import annotations

import pluggy

PROJECT = "fracneuron"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def fracneuron_register_adapters(register):
    """Register framework adapters: ``register(adapter)`` with a :class:`fracneuron.adapter.Adapter`."""


@hookspec
def fracneuron_register_memories(register):
    """Register memory engines: ``register(name, factory)``; ``factory(**options)`` returns a
    :class:`fracneuron.memory.MemoryEngine`."""


@hookspec
def fracneuron_register_methods(register):
    """Register ``fdeint`` methods: ``register(name, method_class)``."""


@hookspec
def fracneuron_register_surrogates(register):
    """Register spike functions: ``register(name, factory, aliases=())``; ``factory(scale)``
    returns a callable mapping ``v - threshold`` to spikes."""
