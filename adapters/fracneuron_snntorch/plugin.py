"""pluggy plugin registering the snnTorch adapter (imports nothing from snnTorch)."""

from __future__ import annotations

from fracneuron.adapter import Adapter
from fracneuron.plugins import hookimpl


class SnnTorchAdapter(Adapter):
    name = "snntorch"
    framework = "snntorch"
    install_hint = "pip install fracneuron[snntorch]"

    def handles(self, cls: type) -> bool:
        return cls.__module__.startswith("snntorch")

    def fractional(self, cls: type) -> type:
        raise TypeError(f"{cls.__qualname__}: the snnTorch adapter is not implemented yet")

    def fractionalize(self, model, options) -> int:
        return 0


@hookimpl
def fracneuron_register_adapters(register):
    register(SnnTorchAdapter())
