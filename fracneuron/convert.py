"""One-line conversion: ``fractional(cls)`` and ``fractionalize(model, alpha=...)``.

Both dispatch to the registered adapters (SpikingJelly, snnTorch, third-party); fracneuron's own
neurons (:mod:`fracneuron.neuron`) are already fractional and are reconfigured in place.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .adapter import Adapter, FractionalOptions
from .memory import FractionalMemory
from .neuron import BaseNeuron

__all__ = ["fractional", "fractionalize", "adapter_status"]


def _adapters() -> list[Adapter]:
    from .plugins import adapters

    return [entry.obj for entry in adapters]


def adapter_status() -> str:
    """One line per adapter: 'name (available)' or 'name (unavailable: reason)'."""
    parts = []
    for adapter in _adapters():
        reason = adapter.unavailable_reason()
        parts.append(f"{adapter.name} ({'available' if reason is None else 'unavailable: ' + reason})")
    return ", ".join(parts) or "none registered"


def fractional(cls: type) -> type:
    """The fractional version of a neuron class of any supported framework.

    >>> FracLIF = fracneuron.fractional(spikingjelly.activation_based.neuron.LIFNode)
    >>> node = FracLIF(tau=2.0, alpha=0.6, memory="exact")

    The returned class takes the native constructor arguments plus ``alpha``, ``memory``,
    ``learn_alpha``, ``coefficients`` (see the adapter's documentation). fracneuron's own neurons
    are returned unchanged (they take ``alpha`` already).
    """
    if not isinstance(cls, type):
        raise TypeError(f"fractional() takes a neuron class, got {type(cls).__name__} (use fractionalize() for a model)")
    if issubclass(cls, BaseNeuron):
        return cls
    for adapter in _adapters():
        if adapter.available and adapter.handles(cls):
            return adapter.fractional(cls)
    raise TypeError(
        f"{cls.__module__}.{cls.__qualname__} is not a neuron class fracneuron can make fractional; "
        f"adapters: {adapter_status()}"
    )


def fractionalize(
    model: nn.Module,
    alpha: float | Sequence[float] | torch.Tensor,
    memory: str = "exact",
    learn_alpha: bool = False,
    *,
    coefficients: Sequence[float] | None = None,
    learn_coefficients: bool = False,
    per_neuron: bool = False,
    memory_options: dict | None = None,
) -> nn.Module:
    """Give every supported neuron inside ``model`` fractional memory, in place; return ``model``.

    Parameters, buffers, step modes and surrogates of the swapped neurons are kept, and a
    state_dict saved from the native model still loads. ``alpha`` is a float in (0, 1], a list for
    a multi-term derivative (with ``coefficients``), or a per-neuron tensor; ``per_neuron=True``
    gives every neuron its own (learnable) α.

    Raises ``ValueError`` when the model holds no neuron fracneuron supports (the message lists
    the adapters and whether their frameworks are installed).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"fractionalize() takes an nn.Module, got {type(model).__name__}")
    options = FractionalOptions(
        alpha=alpha,
        memory=memory,
        learn_alpha=learn_alpha,
        coefficients=coefficients,
        learn_coefficients=learn_coefficients,
        per_neuron=per_neuron,
        memory_options=memory_options,
    )
    options.validate()  # alpha, memory name and options fail before anything is swapped

    swapped = 0
    for module in model.modules():
        if isinstance(module, BaseNeuron):
            device_like = next(iter(module.parameters()), None)
            module.memory = FractionalMemory.from_options(options, module.step_size)
            if device_like is not None:
                module.memory.to(device_like.device)
            module.reset()
            swapped += 1
    for adapter in _adapters():
        if adapter.available:
            swapped += adapter.fractionalize(model, options)
    if swapped == 0:
        raise ValueError(
            f"fractionalize found no neuron it supports in {type(model).__name__}; "
            f"adapters: {adapter_status()}"
        )
    return model
