"""The four kinds of thing a plugin registers: the hook that registers them, the word users see,
and what a registration must be (checked before it is kept, so a bad one names its plugin at load
time instead of failing later, deep inside a neuron)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .registry import Entry, RegistrationError

__all__ = ["Kind", "ADAPTERS", "MEMORIES", "METHODS", "SURROGATES", "KINDS"]


# The checks read the protocol, not the classes (fracneuron.adapter.Adapter, solvers'
# FractionalMethod): plugins/ sits below everything it registers and imports none of it.
_ADAPTER_METHODS = ("unavailable_reason", "handles", "fractional", "fractionalize")
_METHOD_STEPS = ("prepare", "local", "finish", "reset")


def _is_adapter(obj: object) -> bool:
    """An adapter instance: a ``name`` and the methods of :class:`fracneuron.adapter.Adapter`."""
    return (
        not isinstance(obj, type)
        and isinstance(getattr(obj, "name", None), str)
        and all(callable(getattr(obj, method, None)) for method in _ADAPTER_METHODS)
    )


def _is_method_class(obj: object) -> bool:
    """A method class: the step protocol of :class:`fracneuron.solvers.FractionalMethod`."""
    return isinstance(obj, type) and all(callable(getattr(obj, step, None)) for step in _METHOD_STEPS)


@dataclass(frozen=True)
class Kind:
    #: the word in messages: "unknown memory 'x'"
    noun: str
    #: the hook that registers this kind
    hook: str
    #: ``register(name, obj)`` when True; ``register(obj)`` with the name in ``obj.name`` otherwise
    named: bool
    #: what ``obj`` must be, for messages
    requirement: str
    accepts: Callable[[object], bool]

    @property
    def a_noun(self) -> str:
        return f"{'an' if self.noun[0] in 'aeiou' else 'a'} {self.noun}"

    def entry(self, name: object, obj: object, plugin: str, aliases: object = ()) -> Entry:
        """An :class:`Entry` for ``obj``, or ``RegistrationError`` saying which rule it breaks."""
        if not self.accepts(obj):
            what = f"{self.noun} {name!r}" if isinstance(name, str) and name else self.a_noun
            raise RegistrationError(f"{what} must be {self.requirement}, got {_describe(obj)}")
        if not isinstance(name, str) or not name:
            raise RegistrationError(f"{self.a_noun} needs a non-empty string name, got {name!r}")
        if isinstance(aliases, str) or not isinstance(aliases, (tuple, list)):
            raise RegistrationError(
                f"aliases of {self.noun} {name!r} must be a list of names, got {_describe(aliases)}"
            )
        for alias in aliases:
            if not isinstance(alias, str) or not alias:
                raise RegistrationError(f"aliases of {self.noun} {name!r} must be non-empty strings, got {alias!r}")
        if len({name, *aliases}) != 1 + len(aliases):
            raise RegistrationError(f"{self.noun} {name!r} repeats a name in its aliases {tuple(aliases)!r}")
        return Entry(name, obj, plugin, tuple(aliases))


def _describe(obj: object) -> str:
    text = repr(obj)
    return f"{type(obj).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


ADAPTERS = Kind("adapter", "fracneuron_register_adapters", False, "a fracneuron.adapter.Adapter instance", _is_adapter)
MEMORIES = Kind(
    "memory", "fracneuron_register_memories", True, "callable (factory(**options) -> MemoryEngine)", callable
)
METHODS = Kind(
    "method", "fracneuron_register_methods", True, "a fracneuron.solvers.FractionalMethod subclass", _is_method_class
)
SURROGATES = Kind(
    "surrogate", "fracneuron_register_surrogates", True, "callable (factory(scale) -> spike function)", callable
)
KINDS: tuple[Kind, ...] = (ADAPTERS, MEMORIES, METHODS, SURROGATES)
