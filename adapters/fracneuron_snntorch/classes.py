"""Fractional snnTorch classes, one per native class, and the in-place swap of a model's neurons.

``fractional_class(snntorch.Leaky)`` is ``FractionalLeaky(FractionalNeuron, snntorch.Leaky)``,
generated once and cached. The fractional versions of snnTorch's own classes are attributes of
this module (``fracneuron_snntorch.classes.FractionalLeaky``, created on first access), so the
classes pickle by reference; instances pickle through their native class (see
``FractionalNeuron.__reduce_ex__``), which covers subclasses of a user's own classes as well.
"""

from __future__ import annotations

import copy

from torch import nn

from fracneuron.adapter import FractionalOptions

from .supported_neurons import family_of, snntorch_ancestor
from .neuron import FractionalNeuron

__all__ = ["fractional_class", "fractionalize_model", "new_instance"]

_PREFIX = "Fractional"
_cache: dict[type, type] = {}


def fractional_class(native: type) -> type:
    """The fractional subclass of an snnTorch neuron class (``TypeError`` if unsupported)."""
    if issubclass(native, FractionalNeuron):
        return native
    cached = _cache.get(native)
    if cached is not None:
        return cached
    family = family_of(native)
    name = _PREFIX + native.__name__
    cls = type(
        name,
        (FractionalNeuron, native),
        {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"Fractional-order {native.__module__}.{native.__qualname__}.\n\n{FractionalNeuron.__doc__}",
            "_frac_family": family,
            "_frac_native": native,
        },
    )
    cls.__reduce_ex__ = _pickled_by_native_class(cls)
    _cache[native] = cls
    if _is_public_snntorch_class(native):
        globals()[name] = cls
    return cls


def _is_public_snntorch_class(native: type) -> bool:
    import snntorch

    return getattr(snntorch, native.__name__, None) is native


def __getattr__(name: str) -> type:
    # Unpickling ``fracneuron_snntorch.classes.FractionalLeaky`` in a fresh process lands here.
    if name.startswith(_PREFIX):
        import snntorch

        native = getattr(snntorch, name[len(_PREFIX) :], None)
        if isinstance(native, type):
            return fractional_class(native)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _pickled_by_native_class(generated: type):
    """``__reduce_ex__`` of a generated class: pickle (and deepcopy) name the native class and
    loading regenerates the fractional one, so a fractional subclass of a user's own class
    pickles whenever the native one does."""

    def __reduce_ex__(self, protocol):
        _, _, *rest = super(generated, self).__reduce_ex__(protocol)
        return (new_instance, (self._frac_native,), *rest)

    return __reduce_ex__


def new_instance(native: type) -> FractionalNeuron:
    """An empty instance of ``fractional_class(native)`` for pickle/deepcopy to fill."""
    cls = fractional_class(native)
    return cls.__new__(cls)


def _is_snntorch_neuron(module: nn.Module) -> bool:
    """Does the module descend from snnTorch's SpikingNeuron (checked without importing it)?"""
    return any(k.__name__ == "SpikingNeuron" and k.__module__.startswith("snntorch.") for k in type(module).__mro__)


def fractionalize_model(model: nn.Module, options: FractionalOptions) -> int:
    """Make every snnTorch neuron inside ``model`` fractional in place; return how many.

    Each neuron's class is swapped for its fractional subclass and a fresh memory attached, so its
    parameters, buffers, hooks and surrogate stay as they are; an already fractional neuron gets
    the new memory. Every neuron is checked first: one unsupported class (``snntorch.Alpha``,
    say) raises ``TypeError`` before anything is changed.
    """
    neurons = [m for m in model.modules() if _is_snntorch_neuron(m)]
    if not neurons:
        return 0
    options.validate()  # bad options fail before any swap
    for module in neurons:
        family_of(type(module))
        _check_state_function(module)
    for module in neurons:
        if not isinstance(module, FractionalNeuron):
            name = module.state_function.__name__
            module.__class__ = fractional_class(type(module))
            # The constructor bound the native state function; bind the wrapped one of that name.
            module.state_function = getattr(module, name)
        module._frac_attach(copy.deepcopy(options))  # an engine instance must not be shared
    return len(neurons)


def _check_state_function(module: nn.Module) -> None:
    fn = getattr(module, "state_function", None)
    if getattr(fn, "__self__", None) is not module or fn.__name__ not in ("_base_sub", "_base_zero", "_base_int"):
        ancestor = snntorch_ancestor(type(module))
        raise TypeError(
            f"{type(module).__name__} (an snntorch.{ancestor.__name__}) has a custom state_function "
            f"{fn!r}; the snnTorch adapter wraps only snnTorch's _base_sub/_base_zero/_base_int"
        )
