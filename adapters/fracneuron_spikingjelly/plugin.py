"""pluggy plugin registering the SpikingJelly adapter.

Nothing here imports SpikingJelly: the adapter's methods import the modules that do
(``supported_nodes``, ``factory``, ``swap``) only when called, and only once SpikingJelly is in use, so
``import fracneuron`` and ``fracneuron plugins`` work without it.
"""

from __future__ import annotations

import sys
from importlib import metadata

from torch import nn

from fracneuron.adapter import Adapter, FractionalOptions
from fracneuron.plugins import hookimpl

__all__ = ["SpikingJellyAdapter", "fracneuron_register_adapters"]

_SJ = "spikingjelly.activation_based"

#: What ``fracneuron plugins`` lists (the rules are in ``supported_nodes.classify``), with the path
#: a sequence takes in 'm' mode (:mod:`fracneuron_spikingjelly.fused`; ``repr(node)`` says it per node)
SUPPORTED = [
    "IFNode ('m': fused)",
    "LIFNode ('m': fused)",
    "ParametricLIFNode ('m': fused)",
    "SimpleIFNode (stepped)",
    "SimpleLIFNode (stepped)",
    "NonSpikingIFNode (stepped)",
    "NonSpikingLIFNode (stepped)",
    "BaseNode/SimpleBaseNode subclasses with their own neuronal_charge (stepped)",
]


class SpikingJellyAdapter(Adapter):
    """Fractional memory for SpikingJelly 2.x nodes (see :mod:`fracneuron_spikingjelly`)."""

    name = "spikingjelly"
    framework = "spikingjelly"
    install_hint = "pip install --no-deps spikingjelly==2.0.0 && pip install fracneuron[spikingjelly]"

    def unavailable_reason(self) -> str | None:
        reason = super().unavailable_reason()
        if reason is not None:
            return reason
        try:
            version = metadata.version("spikingjelly")
        except metadata.PackageNotFoundError:  # a source checkout on sys.path: trust it
            return None
        if not version.startswith("2."):
            return f"spikingjelly {version} is installed; the adapter needs SpikingJelly 2.x ({self.install_hint})"
        return None

    def handles(self, cls: type) -> bool:
        if _SJ not in sys.modules:  # no SpikingJelly class can exist before it is imported
            return False
        from .supported_nodes import is_neuron_class

        return is_neuron_class(cls)

    def fractional(self, cls: type) -> type:
        from .factory import fractional_class

        return fractional_class(cls)

    def fractionalize(self, model: nn.Module, options: FractionalOptions) -> int:
        if _SJ not in sys.modules:
            return 0
        from .swap import fractionalize_model

        return fractionalize_model(model, options)

    def supported_classes(self) -> list[str]:
        return list(SUPPORTED)


@hookimpl
def fracneuron_register_adapters(register):
    register(SpikingJellyAdapter())
