"""pluggy plugin registering the snnTorch adapter (imports nothing from snnTorch).

The adapter's work lives in :mod:`fracneuron_snntorch.classes` (class generation, model swap) and
:mod:`fracneuron_snntorch.neuron` (the fractional step); they are imported only when used.
"""

from __future__ import annotations

from torch import nn

from fracneuron.adapter import Adapter, FractionalOptions
from fracneuron.plugins import hookimpl

from .supported_neurons import SUPPORTED, snntorch_ancestor


class SnnTorchAdapter(Adapter):
    """``fracneuron.fractional(snn.Leaky)`` and ``fracneuron.fractionalize(net, alpha=...)`` for
    snnTorch's Leaky, Synaptic, Lapicque, RLeaky and RSynaptic (and their subclasses)."""

    name = "snntorch"
    framework = "snntorch"
    install_hint = "pip install fracneuron[snntorch]"

    def handles(self, cls: type) -> bool:
        return snntorch_ancestor(cls) is not None

    def fractional(self, cls: type) -> type:
        from .classes import fractional_class

        return fractional_class(cls)

    def fractionalize(self, model: nn.Module, options: FractionalOptions) -> int:
        from .classes import fractionalize_model

        return fractionalize_model(model, options)

    def supported_classes(self) -> list[str]:
        return list(SUPPORTED)


@hookimpl
def fracneuron_register_adapters(register):
    register(SnnTorchAdapter())
