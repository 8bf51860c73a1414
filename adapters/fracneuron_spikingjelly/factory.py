"""``fractional_class(cls)``: the fractional subclass of a SpikingJelly node class.

``Fractional<Name>`` derives from the kind's mixin (:mod:`fracneuron_spikingjelly.nodes`) and
from ``cls``, so ``isinstance(node, cls)`` stays true and everything the native class does —
parameters, surrogate, thresholds, step modes, ``store_v_seq``, hooks — is inherited. One class
is made per native class and cached, so instances deep-copy and pickle (they pickle as
"fractional version of <native class>" and are rebuilt from it), and the classes of SpikingJelly's
own nodes pickle by name (``Fractional<Node>`` is found through this module's ``__getattr__``).
"""

from __future__ import annotations

from .nodes import (
    FractionalBaseChargeNode,
    FractionalChargeNode,
    FractionalNode,
    FractionalReadoutNode,
    FractionalTransitionNode,
)
from .supported_nodes import classify, transition_of
from .native_charges import CHARGES

__all__ = ["fractional_class"]

_MIXINS = {
    "transition": FractionalTransitionNode,
    "charge": FractionalChargeNode,
    "base_charge": FractionalBaseChargeNode,
    "readout": FractionalReadoutNode,
}

_classes: dict[type, type] = {}


def fractional_class(cls: type) -> type:
    """The cached fractional subclass of ``cls`` (``cls`` itself if it is one already).

    Its constructor takes ``cls``'s arguments plus the keyword arguments ``alpha``, ``memory``,
    ``learn_alpha``, ``coefficients``, ``learn_coefficients``, ``per_neuron`` and
    ``memory_options`` of :class:`~fracneuron.memory.FractionalMemory`. Raises ``TypeError`` (with
    the reason) for a class that cannot be supported.
    """
    if issubclass(cls, FractionalNode):
        return cls
    if cls not in _classes:
        kind = classify(cls)
        name = f"Fractional{cls.__name__}"
        namespace = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"{cls.__qualname__} with fractional-order (Caputo) memory; see fracneuron.fractional.",
            "native_class": cls,
        }
        if kind == "transition":  # the native charge function becomes the node's charge method
            namespace["charge"] = CHARGES[transition_of(cls)]
        generated = type(name, (_MIXINS[kind], cls), namespace)
        generated.__reduce_ex__ = _pickled_by_native_class(generated)
        _classes[cls] = generated
    return _classes[cls]


def _pickled_by_native_class(generated: type):
    """``__reduce_ex__`` of a generated class: it cannot be found by name (a user's own node
    class, say), so unpickling rebuilds it from the native class."""

    def __reduce_ex__(self, protocol):
        _, _, *state = super(generated, self).__reduce_ex__(protocol)
        return (_new_node, (self.native_class,), *state)

    return __reduce_ex__


def _new_node(native_class: type):
    cls = fractional_class(native_class)
    return cls.__new__(cls)


def __getattr__(name: str) -> type:
    """``Fractional<Node>`` for SpikingJelly's own node classes, so that pickle finds the
    generated classes by name (PEP 562). Instances of any fractional class pickle anyway."""
    if name.startswith("Fractional"):
        from spikingjelly.activation_based import neuron

        native = getattr(neuron, name[len("Fractional") :], None)
        if isinstance(native, type):
            try:
                return fractional_class(native)
            except TypeError:
                pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
