"""Run every plugin's ``fracneuron_register_*`` hooks and keep whole plugins only.

Plugins are taken in registration order (fracneuron's default plugins first, so a third party
cannot take a built-in name). Each plugin's registrations, from all of its hooks, are tried on a
copy of the tables and kept only if every one of them is valid: a hook that raises, or a
registration that breaks a rule (wrong kind of object, bad name, a name already taken), drops the
plugin as a whole, so it is consistently "not loaded", never half there.
"""

from __future__ import annotations

from collections.abc import Container, Sequence

import pluggy

from .kinds import Kind
from .registry import RegistrationError, Table

__all__ = ["PluginFailure", "one_line", "run_register_hooks"]


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded, for a one-line listing."""
    return " ".join(text.split())


class PluginFailure(Exception):
    """Why one plugin's registrations were not kept (the text users are shown)."""


def run_register_hooks(
    pm: pluggy.PluginManager, kinds: Sequence[Kind], strict: Container[str]
) -> tuple[dict[str, Table], dict[str, str]]:
    """The tables (hook name -> :class:`Table`) of the plugins that loaded, and the reason for
    each plugin that did not (plugin name -> reason). A dropped plugin is unregistered from
    ``pm``. A plugin named in ``strict`` (fracneuron's own) that fails raises ``RuntimeError``:
    that is a bug in fracneuron, and nothing is kept."""
    tables = {kind.hook: Table() for kind in kinds}
    failures: dict[str, str] = {}
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # blocked
            continue
        try:
            tables = _with_plugin(pm, name, kinds, tables)
        except PluginFailure as exc:
            if name in strict:
                raise RuntimeError(f"fracneuron's default plugin {name!r} failed to register: {exc}") from exc
            failures[name] = one_line(str(exc))
            pm.unregister(name=name)
    return tables, failures


def _with_plugin(
    pm: pluggy.PluginManager, name: str, kinds: Sequence[Kind], tables: dict[str, Table]
) -> dict[str, Table]:
    """``tables`` plus everything plugin ``name`` registers (a new dict); ``PluginFailure`` if
    any of it is refused."""
    tables = dict(tables)
    for kind in kinds:
        for impl in getattr(pm.hook, kind.hook).get_hookimpls():
            if impl.plugin_name == name:
                tables[kind.hook] = _run_hook(impl, kind, tables[kind.hook])
    return tables


def _run_hook(impl: pluggy.HookImpl, kind: Kind, table: Table) -> Table:
    if impl.hookwrapper or getattr(impl, "wrapper", False):
        raise PluginFailure(f"{kind.hook} is a hook wrapper; fracneuron's register hooks take a plain @hookimpl")
    call = _RegisterCall(kind, impl.plugin_name, table)
    try:
        # as pluggy calls it: a hookimpl may leave out the ``register`` argument
        impl.function(*[{"register": call}[arg] for arg in impl.argnames])
    except Exception as exc:  # a broken third-party hook must not break fracneuron
        if call.problem is None:
            raise PluginFailure(f"{kind.hook} raised {type(exc).__name__}: {exc}") from exc
    finally:
        call.closed = True
    if call.problem is not None:  # also when the plugin caught the RegistrationError itself
        raise PluginFailure(f"{kind.hook}: {call.problem}")
    return call.table


class _RegisterCall:
    """The ``register`` callback one hook receives: it validates each registration and adds it
    to its own copy of the table. The first refusal is kept even if the plugin catches it."""

    def __init__(self, kind: Kind, plugin: str, table: Table) -> None:
        self.kind = kind
        self.plugin = plugin
        self.table = table
        self.problem: str | None = None
        self.closed = False

    def __call__(self, *args: object, aliases: object = ()) -> None:
        if self.closed:
            raise RuntimeError(f"register() of {self.kind.hook} was called after the hook returned")
        try:
            name, obj = self._name_and_object(args)
            entry = self.kind.entry(name, obj, self.plugin, aliases)
            self.table = self.table.adding(entry, self.kind.noun)
        except RegistrationError as exc:
            if self.problem is None:
                self.problem = str(exc)
            raise

    def _name_and_object(self, args: tuple[object, ...]) -> tuple[object, object]:
        expected = ("name", self.kind.noun) if self.kind.named else (self.kind.noun,)
        if len(args) != len(expected):
            given = f"{len(args)} {'was' if len(args) == 1 else 'were'} given"
            raise RegistrationError(f"register() takes ({', '.join(expected)}) but {given}")
        if self.kind.named:
            return args[0], args[1]
        return getattr(args[0], "name", None), args[0]
