"""fracneuron's plugin system: pluggy hooks, the plugin manager and the registries they fill.

>>> from fracneuron import plugins
>>> plugins.memories.names()
['exact', 'window', ...]

Registries: ``adapters`` (framework glue), ``memories`` (history engines), ``methods`` (``fdeint``
schemes) and ``surrogates`` (spike functions). Each is filled on first use by the hook of the same
name in every registered plugin. This module imports only pluggy.
"""

from __future__ import annotations

from .hookspecs import hookimpl, hookspec
from .manager import (
    BLOCK_ENV,
    DEFAULT_PLUGINS,
    DISABLE_AUTOLOAD_ENV,
    ENTRY_POINT_GROUP,
    get_plugin_manager,
    plugin_failures,
    plugin_sources,
    reset_plugin_manager,
)
from .registry import Entry, Registry

__all__ = [
    "hookimpl",
    "hookspec",
    "adapters",
    "memories",
    "methods",
    "surrogates",
    "get_plugin_manager",
    "plugin_failures",
    "plugin_sources",
    "reset_plugin_manager",
    "Entry",
    "Registry",
    "BLOCK_ENV",
    "DEFAULT_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
]


def _run_hook(hook_name: str, registry: Registry, takes_name: bool) -> None:
    pm = get_plugin_manager()
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order
        plugin_name = impl.plugin_name

        def register(*args, aliases=(), _plugin=plugin_name):
            if takes_name:
                name, obj = args
            else:
                (obj,) = args
                name = obj.name
            registry.add(name, obj, _plugin, tuple(aliases))

        impl.function(register)


adapters = Registry("adapter", lambda r: _run_hook("fracneuron_register_adapters", r, takes_name=False))
memories = Registry("memory", lambda r: _run_hook("fracneuron_register_memories", r, takes_name=True))
methods = Registry("method", lambda r: _run_hook("fracneuron_register_methods", r, takes_name=True))
surrogates = Registry("surrogate", lambda r: _run_hook("fracneuron_register_surrogates", r, takes_name=True))
