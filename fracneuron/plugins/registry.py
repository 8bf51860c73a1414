"""Name -> object tables filled by the plugin hooks (memories, methods, surrogates, adapters)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["Registry", "Entry"]


@dataclass(frozen=True)
class Entry:
    name: str
    obj: object
    plugin: str
    aliases: tuple[str, ...] = field(default_factory=tuple)


class Registry:
    """Entries of one kind. Filled lazily: the first lookup loads the plugins.

    ``loader`` is called once (with this registry) before the first read; the plugin manager
    passes a function that runs the matching ``fracneuron_register_*`` hook.
    """

    def __init__(self, kind: str, loader: Callable[["Registry"], None]) -> None:
        self.kind = kind
        self._loader = loader
        self._entries: dict[str, Entry] = {}
        self._aliases: dict[str, str] = {}
        self._loaded = False

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            self._loaded = True
            self._loader(self)

    def add(self, name: str, obj: object, plugin: str, aliases: tuple[str, ...] = ()) -> None:
        """Register ``obj`` under ``name`` (and ``aliases``); a name may be registered once."""
        self._ensure_loaded()  # a direct registration must not shadow a plugin's
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty string name, got {name!r}")
        for key in (name, *aliases):
            if key in self._entries or key in self._aliases:
                owner = self._entries.get(key) or self._entries[self._aliases[key]]
                raise ValueError(f"{self.kind} {key!r} is already registered by plugin {owner.plugin!r}")
        self._entries[name] = Entry(name, obj, plugin, tuple(aliases))
        for alias in aliases:
            self._aliases[alias] = name

    def get(self, name: str) -> object:
        """The object registered as ``name`` (or an alias); ``ValueError`` listing choices if none."""
        self._ensure_loaded()
        key = self._aliases.get(name, name) if isinstance(name, str) else name
        if key not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {', '.join(map(repr, self.names()))}")
        return self._entries[key].obj

    def entry(self, name: str) -> Entry:
        self.get(name)
        return self._entries[self._aliases.get(name, name)]

    def names(self) -> list[str]:
        """Registered names (aliases excluded), sorted."""
        self._ensure_loaded()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[Entry]:
        self._ensure_loaded()
        return iter([self._entries[n] for n in sorted(self._entries)])

    def reload(self) -> None:
        """Forget the entries; the next read runs the hooks again."""
        self._entries.clear()
        self._aliases.clear()
        self._loaded = False
