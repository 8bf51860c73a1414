"""``fractionalize`` for SpikingJelly models: every supported node made fractional in place.

A node is converted by switching its class to the fractional subclass
(``node.__class__ = Fractional<Native>``) and attaching a fresh ``FractionalMemory``: the object
stays the same, so its parameters (PLIF's ``w``), thresholds, surrogate, step mode,
``store_v_seq``, hooks, device and the references other modules or optimizers hold to it are all
kept, nodes nested anywhere (``Sequential``, ``SeqToANNContainer``, ``MultiStepContainer``, custom
modules, the model itself) are reached, and the model's existing state_dict still loads.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from spikingjelly.activation_based import functional

from fracneuron.adapter import FractionalOptions
from fracneuron.memory import FractionalMemory

from .factory import fractional_class
from .nodes import FractionalNode
from .supported_nodes import classify, is_neuron_class

__all__ = ["fractionalize_model", "make_fractional"]


def _device_of(node: nn.Module) -> torch.device:
    for tensor in itertools.chain(node.parameters(), node.buffers()):
        return tensor.device
    v = getattr(node, "v", None)
    return v.device if isinstance(v, torch.Tensor) else torch.device("cpu")


def make_fractional(node: nn.Module, options: FractionalOptions) -> None:
    """Give one supported node (native or already fractional) a new memory, in place; reset it."""
    memory = FractionalMemory.from_options(options).to(_device_of(node))
    if not isinstance(node, FractionalNode):
        if "memory" in node.__dict__ or "memory" in node._modules or hasattr(type(node), "memory"):
            raise TypeError(
                f"{type(node).__qualname__} already has an attribute 'memory'; fracneuron keeps the "
                "fractional history there and will not overwrite it"
            )
        node.__class__ = fractional_class(type(node))
    node.attach_memory(memory)
    node.reset()  # new dynamics: the next step starts a new sequence


def fractionalize_model(model: nn.Module, options: FractionalOptions) -> int:
    """Make every SpikingJelly node in ``model`` fractional; return how many.

    All nodes are checked first: if any cannot be supported, a ``TypeError`` lists each one with
    its reason and the model is left unchanged.
    """
    nodes = [(name, module) for name, module in model.named_modules() if is_neuron_class(type(module))]
    problems = []
    for name, module in nodes:
        try:
            classify(module.native_class if isinstance(module, FractionalNode) else type(module))
        except TypeError as exc:
            problems.append(f"  {name or '(the model itself)'}: {exc}")
    if problems:
        raise TypeError(
            "fractionalize cannot make these SpikingJelly nodes fractional (the model was not "
            "changed):\n" + "\n".join(problems)
        )
    for _, module in nodes:
        make_fractional(module, options)
    # reset_net caches each network's resettable modules: let it collect the new memories too.
    functional.invalidate_reset_cache(model)
    return len(nodes)
