"""Name -> object tables filled by the plugin hooks (memories, methods, surrogates, adapters).

A :class:`Registry` is filled on its first read by its loader, once, under a lock: threads that
read it first at the same time wait for that one load, and a load that raises leaves the registry
unloaded (the next read tries again), never empty. Its :class:`Table` is immutable and replaced as
a whole, so a reader never sees half a table, and a plugin's registrations can be tried on a copy
and dropped by simply not keeping it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kinds import Kind

__all__ = ["Registry", "Entry", "Table", "RegistrationError"]


class RegistrationError(ValueError):
    """A registration that breaks the rules: a bad name or alias, the wrong kind of object, or a
    name that is already taken."""


@dataclass(frozen=True)
class Entry:
    name: str
    obj: object
    plugin: str
    aliases: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Table:
    """An immutable name -> entry table; :meth:`adding` returns a new table."""

    entries: Mapping[str, Entry] = field(default_factory=lambda: MappingProxyType({}))
    #: alias -> the name it stands for
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def owner(self, key: object) -> Entry | None:
        """The entry registered as ``key`` (a name or an alias), or ``None``."""
        if not isinstance(key, str):
            return None
        return self.entries.get(self.aliases.get(key, key))

    def adding(self, entry: Entry, noun: str) -> Table:
        """This table plus ``entry``; ``RegistrationError`` if its name or an alias is taken."""
        for key in (entry.name, *entry.aliases):
            taken = self.owner(key)
            if taken is not None:
                raise RegistrationError(f"{noun} {key!r} is already registered by plugin {taken.plugin!r}")
        return Table(
            MappingProxyType({**self.entries, entry.name: entry}),
            MappingProxyType({**self.aliases, **{alias: entry.name for alias in entry.aliases}}),
        )


class Registry:
    """Entries of one :class:`~fracneuron.plugins.kinds.Kind`. Filled lazily: the first read
    calls ``loader()``, which returns the :class:`Table` the plugins registered.

    ``lock`` (re-entrant) guards the load and direct :meth:`add` calls; the plugin registries
    share the plugin manager's lock, so the manager and all registries load as one step.
    """

    def __init__(self, kind: Kind, loader: Callable[[], Table], lock: threading.RLock | None = None) -> None:
        self.kind = kind
        self._loader = loader
        self._lock = lock if lock is not None else threading.RLock()
        self._table: Table | None = None  # None until a load has succeeded

    def _loaded(self) -> Table:
        table = self._table
        if table is None:
            with self._lock:
                table = self._table
                if table is None:
                    table = self._loader()
                    self._table = table  # set only once the load has succeeded
        return table

    def add(self, name: str, obj: object, plugin: str, aliases: tuple[str, ...] = ()) -> None:
        """Register ``obj`` under ``name`` (and ``aliases``); a name may be registered once, and
        ``obj`` must be of this registry's kind (``RegistrationError``, a ``ValueError``, if not)."""
        with self._lock:
            entry = self.kind.entry(name, obj, plugin, aliases)
            self._table = self._loaded().adding(entry, self.kind.noun)  # plugins' entries come first

    def get(self, name: str) -> object:
        """The object registered as ``name`` (or an alias); ``ValueError`` listing choices if none."""
        return self.entry(name).obj

    def entry(self, name: str) -> Entry:
        table = self._loaded()
        found = table.owner(name)
        if found is None:
            choices = ", ".join(map(repr, sorted(table.entries)))
            raise ValueError(f"unknown {self.kind.noun} {name!r}; choose one of {choices}")
        return found

    def names(self) -> list[str]:
        """Registered names (aliases excluded), sorted."""
        return sorted(self._loaded().entries)

    def __contains__(self, name: object) -> bool:
        return self._loaded().owner(name) is not None

    def __iter__(self) -> Iterator[Entry]:
        entries = self._loaded().entries
        return iter([entries[n] for n in sorted(entries)])

    def reload(self) -> None:
        """Forget the entries (direct :meth:`add` calls included); the next read asks the loader
        again. :func:`~fracneuron.plugins.reset_plugin_manager` also re-runs the plugins' hooks."""
        with self._lock:
            self._table = None
