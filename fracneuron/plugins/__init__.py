"""fracneuron's plugin system: pluggy hooks, the plugin manager and the registries they fill.

>>> from fracneuron import plugins
>>> plugins.memories.names()
['exact', 'window', ...]

Registries: ``adapters`` (framework glue), ``memories`` (history engines), ``methods`` (``fdeint``
schemes) and ``surrogates`` (spike functions). The first read of any of them loads the plugins and
runs every plugin's hooks, once, under one lock (:mod:`.manager`); a third-party plugin that fails
is left out as a whole and listed by :func:`plugin_failures`. This module imports only pluggy.
"""

from __future__ import annotations

from .hookspecs import hookimpl, hookspec
from .kinds import ADAPTERS, MEMORIES, METHODS, SURROGATES, Kind
from .manager import (
    BLOCK_ENV,
    DEFAULT_PLUGINS,
    DISABLE_AUTOLOAD_ENV,
    ENTRY_POINT_GROUP,
    LOCK,
    get_plugin_manager,
    plugin_failures,
    plugin_sources,
    plugin_table,
    reset_plugin_manager,
    track,
)
from .registry import Entry, RegistrationError, Registry

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
    "Kind",
    "RegistrationError",
    "Registry",
    "BLOCK_ENV",
    "DEFAULT_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "ENTRY_POINT_GROUP",
]


def _registry(kind: Kind) -> Registry:
    return track(Registry(kind, lambda: plugin_table(kind.hook), lock=LOCK))


adapters = _registry(ADAPTERS)
memories = _registry(MEMORIES)
methods = _registry(METHODS)
surrogates = _registry(SURROGATES)
