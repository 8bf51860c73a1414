"""The pluggy plugin manager: default plugins, entry points, blocking, and the one load step.

Load order:

1. the default plugins in :data:`DEFAULT_PLUGINS`: fracneuron's built-in engines, surrogates and
   methods, and the SpikingJelly and snnTorch adapters (each adapter imports its framework only
   when used, so loading it costs nothing when the framework is absent);
2. third-party plugins from the entry-point group ``fracneuron`` (``[project.entry-points.fracneuron]``
   in their pyproject), unless ``FRACNEURON_DISABLE_PLUGIN_AUTOLOAD`` is set to a non-empty value;
3. every plugin's ``fracneuron_register_*`` hooks, once (:mod:`.loading`).

``FRACNEURON_BLOCK_PLUGINS=name1,name2`` blocks plugins by name, default ones included.

Loading happens once per process (until :func:`reset_plugin_manager`), under one re-entrant lock
that the registries share, and its result is published only when complete: a thread that reads a
registry while another loads waits for it, and a load that raises publishes nothing, so the next
read tries again. A third-party plugin that fails to import, fails pluggy's checks (an unknown
``fracneuron_*`` hook, wrong argument names), raises in a hook or registers something invalid is
left out as a whole, with a ``RuntimeWarning`` and its reason in :func:`plugin_failures`; the
default plugins failing is a bug in fracneuron and raises.
"""

from __future__ import annotations

import importlib
import os
import threading
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points

import pluggy

from . import hookspecs
from .kinds import KINDS
from .loading import one_line, run_register_hooks
from .registry import Table

__all__ = [
    "DEFAULT_PLUGINS",
    "DISABLE_AUTOLOAD_ENV",
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "get_plugin_manager",
    "LOCK",
    "plugin_failures",
    "plugin_sources",
    "plugin_table",
    "reset_plugin_manager",
]

ENTRY_POINT_GROUP = hookspecs.PROJECT
DISABLE_AUTOLOAD_ENV = "FRACNEURON_DISABLE_PLUGIN_AUTOLOAD"
BLOCK_ENV = "FRACNEURON_BLOCK_PLUGINS"

#: plugin name -> module registered as a default plugin
DEFAULT_PLUGINS: dict[str, str] = {
    "builtin": "fracneuron.builtin_plugins",
    "spikingjelly": "fracneuron_spikingjelly.plugin",
    "snntorch": "fracneuron_snntorch.plugin",
}

#: guards loading; re-entrant because the registries, which share it, load through it
LOCK = threading.RLock()

_HOOKS_HINT = "fracneuron's hooks are " + ", ".join(f"{kind.hook}(register)" for kind in KINDS)


@dataclass(frozen=True)
class _Loaded:
    """Everything one load produced, published as one object once complete."""

    manager: pluggy.PluginManager
    #: plugin name -> where it came from, for the plugins that loaded
    sources: dict[str, str]
    #: plugin name -> why it did not load
    failures: dict[str, str]
    #: hook name -> what the loaded plugins registered through it
    tables: dict[str, Table]


_loaded: _Loaded | None = None
_loading = False  # True while this thread (holding LOCK) loads: catches a hook reading a registry


def _load() -> _Loaded:
    global _loaded, _loading
    loaded = _loaded
    if loaded is not None:
        return loaded
    with LOCK:
        if _loaded is not None:
            return _loaded
        if _loading:
            raise RuntimeError(
                "a fracneuron registry was read while the plugins are loading; a register hook "
                "may only register, not look names up"
            )
        _loading = True
        try:
            loaded = _create()
        finally:
            _loading = False
        _loaded = loaded
    # warn after publishing, so that warnings turned into errors cannot undo the load
    for name, reason in loaded.failures.items():
        warnings.warn(f"fracneuron plugin {name!r} not loaded: {reason}", RuntimeWarning)
    return loaded


def _create() -> _Loaded:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    sources: dict[str, str] = {}
    failures: dict[str, str] = {}
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
        sources[name] = "default plugin"
    pm.check_pending()  # fracneuron's own plugins must pass pluggy's checks
    if not os.environ.get(DISABLE_AUTOLOAD_ENV):
        _load_entry_points(pm, sources, failures)
    defaults = [name for name, source in sources.items() if source == "default plugin"]
    tables, hook_failures = run_register_hooks(pm, KINDS, strict=defaults)
    for name in hook_failures:
        del sources[name]
    return _Loaded(pm, sources, failures | hook_failures, tables)


def _load_entry_points(pm: pluggy.PluginManager, sources: dict[str, str], failures: dict[str, str]) -> None:
    """Register every plugin of the entry-point group; one that fails to import or fails
    pluggy's checks is recorded in ``failures`` instead of breaking fracneuron."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "unknown distribution"
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party plugin must not break the library
            failures[ep.name] = one_line(f"failed to load from {dist}: {type(exc).__name__}: {exc}")
            continue
        if pm.is_registered(plugin):
            failures[ep.name] = f"its module is already loaded as plugin {pm.get_name(plugin)!r}"
            continue
        try:
            pm.register(plugin, name=ep.name)
            pm.check_pending()  # every earlier plugin passed, so an unknown hook is this one's
        except pluggy.PluginValidationError as exc:
            if pm.is_registered(plugin):
                pm.unregister(plugin)
            failures[ep.name] = f"{one_line(str(exc))}; {_HOOKS_HINT}"
            continue
        sources[ep.name] = f"entry point ({dist})"


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created (and its plugins' hooks run) on first use; it
    holds only the plugins that loaded."""
    return _load().manager


def plugin_sources() -> dict[str, str]:
    """Plugin name -> where it came from ("default plugin" or its entry point's distribution),
    for the plugins that loaded."""
    return dict(_load().sources)


def plugin_failures() -> dict[str, str]:
    """Third-party plugins that were not loaded, with the reason."""
    return dict(_load().failures)


def plugin_table(hook: str) -> Table:
    """What the loaded plugins registered through ``hook`` (a registry's loader)."""
    return _load().tables[hook]


def reset_plugin_manager() -> None:
    """Drop the manager (and every registry's entries); the next use loads the plugins again.

    For tests and for programs that change ``sys.path`` or the environment variables at run time.
    """
    global _loaded
    with LOCK:
        _loaded = None
        for registry in _registries:
            registry.reload()


_registries: list = []  # the registries filled from this manager's load (see track)


def track(registry):
    """Let :func:`reset_plugin_manager` empty ``registry`` too; returns it."""
    _registries.append(registry)
    return registry
