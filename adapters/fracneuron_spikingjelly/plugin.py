"""pluggy plugin registering the SpikingJelly adapter (imports nothing from SpikingJelly)."""

from __future__ import annotations

from fracneuron.adapter import Adapter
from fracneuron.plugins import hookimpl


class SpikingJellyAdapter(Adapter):
    name = "spikingjelly"
    framework = "spikingjelly"
    install_hint = "pip install --no-deps spikingjelly==2.0.0 && pip install fracneuron[spikingjelly]"

    def handles(self, cls: type) -> bool:
        return cls.__module__.startswith("spikingjelly.")

    def fractional(self, cls: type) -> type:
        raise TypeError(f"{cls.__qualname__}: the SpikingJelly adapter is not implemented yet")

    def fractionalize(self, model, options) -> int:
        return 0


@hookimpl
def fracneuron_register_adapters(register):
    register(SpikingJellyAdapter())
