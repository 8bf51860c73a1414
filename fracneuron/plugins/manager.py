"""The pluggy plugin manager: default plugins, entry points, blocking.

Load order:

1. the default plugins in :data:`DEFAULT_PLUGINS`: fracneuron's built-in engines, surrogates and
   methods, and the SpikingJelly and snnTorch adapters (each adapter imports its framework only
   when used, so loading it costs nothing when the framework is absent);
2. third-party plugins from the entry-point group ``fracneuron`` (``[project.entry-points.fracneuron]``
   in their pyproject), unless ``FRACNEURON_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty value.

``FRACNEURON_BLOCK_PLUGINS=name1,name2`` blocks plugins by name, default ones included.
"""

from __future__ import annotations

import importlib
import os
import warnings
from importlib.metadata import entry_points

import pluggy

from . import hookspecs

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "get_plugin_manager",
    "plugin_failures",
    "plugin_sources",
    "reset_plugin_manager",
]

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_AUTOLOAD_ENV = "FRACNEURON_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "FRACNEURON_BLOCK_PLUGINS"

#: plugin name -> module registered as a default plugin
DEFAULT_PLUGINS: dict[str, str] = {
    "builtin": "fracneuron.plugins.builtin",
    "spikingjelly": "fracneuron_spikingjelly.plugin",
    "snntorch": "fracneuron_snntorch.plugin",
}

_manager: pluggy.PluginManager | None = None
_sources: dict[str, str] = {}
_failures: dict[str, str] = {}


def _create() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    _sources.clear()
    _failures.clear()
    for name in filter(None, (n.strip() for n in os.environ.get(BLOCK_ENV, "").split(","))):
        pm.set_blocked(name)
    for name, module_name in DEFAULT_PLUGINS.items():
        if pm.is_blocked(name):
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name.split(".")[0]:
                raise
            continue  # an adapter package left out of this installation
        pm.register(module, name=name)
        _sources[name] = "default plugin"
    if not os.environ.get(DISABLE_AUTOLOAD_ENV):
        _load_entry_points(pm)
    pm.check_pending()
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Register every plugin of the entry-point group; one that fails to import is reported
    (warning, and in ``fracneuron plugins``) instead of breaking fracneuron."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "unknown distribution"
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break the library
            _failures[ep.name] = f"failed to load from {dist}: {type(exc).__name__}: {exc}"
            warnings.warn(f"fracneuron plugin {ep.name!r} {_failures[ep.name]}", RuntimeWarning, stacklevel=3)
            continue
        pm.register(plugin, name=ep.name)
        _sources[ep.name] = f"entry point ({dist})"


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    global _manager
    if _manager is None:
        _manager = _create()
    return _manager


def plugin_sources() -> dict[str, str]:
    """Plugin name -> where it came from ("default plugin" or its entry point's distribution)."""
    get_plugin_manager()
    return dict(_sources)


def plugin_failures() -> dict[str, str]:
    """Entry-point plugins that could not be loaded, with the reason."""
    get_plugin_manager()
    return dict(_failures)


def reset_plugin_manager() -> None:
    """Drop the manager (and every registry's entries); the next use rebuilds both.

    For tests and for programs that change ``sys.path`` or the environment variables at run time.
    """
    global _manager
    _manager = None
    from . import adapters, memories, methods, surrogates

    for registry in (adapters, memories, methods, surrogates):
        registry.reload()
