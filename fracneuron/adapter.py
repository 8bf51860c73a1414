"""What a framework adapter provides; adapters register through ``fracneuron_register_adapters``.

An adapter teaches fracneuron one SNN framework. It says which neuron classes it recognises,
makes a fractional subclass of a supported class (:meth:`Adapter.fractional`) and swaps the
neurons of an existing model (:meth:`Adapter.fractionalize`). It must import its framework only
inside these methods, so that fracneuron imports (and lists the adapter as unavailable) when the
framework is missing.
"""

from __future__ import annotations

import importlib.util
from torch import nn

from .options import FractionalOptions

__all__ = ["Adapter", "FractionalOptions"]


class Adapter:
    """Base class of framework adapters. Subclasses set ``name``/``framework`` and override the
    three methods below."""

    #: registry name, e.g. ``"spikingjelly"``
    name: str = ""
    #: importable module the adapter needs, e.g. ``"spikingjelly"``
    framework: str = ""
    #: what to install when the framework is missing
    install_hint: str = ""

    def unavailable_reason(self) -> str | None:
        """``None`` when the framework can be used, else why not (shown by ``fracneuron plugins``)."""
        if importlib.util.find_spec(self.framework) is None:
            hint = f" ({self.install_hint})" if self.install_hint else ""
            return f"{self.framework} is not installed{hint}"
        return None

    @property
    def available(self) -> bool:
        return self.unavailable_reason() is None

    def handles(self, cls: type) -> bool:
        """Is ``cls`` a neuron class of this framework (supported or refused)?"""
        raise NotImplementedError

    def fractional(self, cls: type) -> type:
        """A subclass of ``cls`` with fractional memory; its constructor takes the native
        arguments plus ``alpha``, ``memory``, ``learn_alpha``, ``coefficients``, … A class of the
        framework that cannot be supported raises ``TypeError`` saying why."""
        raise NotImplementedError

    def fractionalize(self, model: nn.Module, options: FractionalOptions) -> int:
        """Make every supported neuron inside ``model`` fractional in place; return how many."""
        raise NotImplementedError

    def supported_classes(self) -> list[str]:
        """Names of the neuron classes this adapter supports (for listings and messages)."""
        return []
