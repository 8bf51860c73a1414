"""Which SpikingJelly node classes can be made fractional, and how.

A node is made fractional at the one place its membrane is charged. SpikingJelly 2.0 has three
such places, so every class falls into one of these kinds (or is refused with the reason):

* ``"transition"``: ``IFNode``, ``LIFNode``, ``ParametricLIFNode`` and subclasses that keep their
  functional transition ``single_step_functional_forward`` (charge, fire and reset fused in one
  op). The fractional step uses their charge on its own (:mod:`.native_charges`) with SpikingJelly's
  fire and reset.
* ``"charge"``: ``SimpleBaseNode`` subclasses (``SimpleIFNode``, ``SimpleLIFNode``, user nodes) —
  charge → fire → reset through ``neuronal_charge``; the correction is added to the charged
  potential.
* ``"base_charge"``: a user ``BaseNode`` subclass without a transition of its own that defines
  ``neuronal_charge`` (the SpikingJelly < 2.0 way); run as charge → fire → reset like
  ``SimpleBaseNode``.
* ``"readout"``: ``NonSpikingBaseNode`` subclasses (``NonSpikingIFNode``, ``NonSpikingLIFNode``),
  multi-step readouts whose ``v`` restarts at every call.

This module imports SpikingJelly; the plugin imports it only when SpikingJelly is used.
"""

from __future__ import annotations

from torch import nn

from spikingjelly.activation_based.neuron import (
    BaseNode,
    IFNode,
    LIFNode,
    MaskedPSN,
    NonSpikingBaseNode,
    ParametricLIFNode,
    PSN,
    SimpleBaseNode,
    SlidingPSN,
)

__all__ = ["NATIVE_TRANSITIONS", "classify", "is_neuron_class", "transition_of"]

#: Nodes whose charge fracneuron knows (transition.CHARGES); their fused op runs at a fixed α = 1.
NATIVE_TRANSITIONS = (IFNode, LIFNode, ParametricLIFNode)

_NEURON_BASES = (BaseNode, SimpleBaseNode, NonSpikingBaseNode)


def is_neuron_class(cls: type) -> bool:
    """Is ``cls`` a SpikingJelly neuron node (supported or not)? Layers and containers are not."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        return False
    return issubclass(cls, _NEURON_BASES) or cls.__module__.startswith("spikingjelly.activation_based.neuron")


def _overridden(cls: type, owner: type, names: tuple[str, ...]) -> list[str]:
    """The methods in ``names`` that ``cls`` defines differently from ``owner``."""
    return [name for name in names if getattr(cls, name) is not getattr(owner, name)]


def _has_own_charge(cls: type, base_class: type) -> bool:
    charge = getattr(cls, "neuronal_charge", None)
    return charge is not None and charge is not getattr(base_class, "neuronal_charge", None)


def transition_of(cls: type) -> type | None:
    """The native node (IF, LIF or PLIF) whose transition ``cls`` inherits, else None."""
    for native in reversed(NATIVE_TRANSITIONS):  # PLIF before LIF: neither derives from the other
        if issubclass(cls, native):
            return native
    return None


def _refuse(cls: type, why: str) -> TypeError:
    return TypeError(f"{cls.__module__}.{cls.__qualname__} cannot be made fractional: {why}")


def classify(cls: type) -> str:
    """``"transition"``, ``"charge"``, ``"base_charge"`` or ``"readout"`` (see the module
    docstring); a ``TypeError`` that says why for every other class."""
    if not is_neuron_class(cls):
        raise _refuse(cls, "it is not a SpikingJelly neuron node")
    if issubclass(cls, (PSN, MaskedPSN, SlidingPSN)):
        raise _refuse(
            cls,
            "the PSN family computes its potential as a learnable weighted sum over time steps, "
            "not as a membrane recursion v[t] = f(v[t-1], x[t]), so there is no increment for a "
            "fractional memory to act on",
        )
    if issubclass(cls, NonSpikingBaseNode):
        if not _has_own_charge(cls, NonSpikingBaseNode):
            raise _refuse(cls, "it does not define neuronal_charge")
        if changed := _overridden(cls, NonSpikingBaseNode, ("forward",)):
            raise _refuse(cls, f"it overrides {', '.join(changed)}; fracneuron needs NonSpikingBaseNode's charge loop")
        return "readout"
    if issubclass(cls, SimpleBaseNode):
        if not _has_own_charge(cls, SimpleBaseNode):
            raise _refuse(cls, "it does not define neuronal_charge")
        steps = ("single_step_forward", "multi_step_forward", "forward")
        if changed := _overridden(cls, SimpleBaseNode, steps):
            raise _refuse(
                cls,
                f"it overrides {', '.join(changed)}; fracneuron needs SimpleBaseNode's step "
                "(one neuronal_charge → neuronal_fire → neuronal_reset per time step)",
            )
        return "charge"
    if issubclass(cls, BaseNode):
        native = transition_of(cls)
        if native is not None:
            methods = ("single_step_functional_forward", "multi_step_functional_forward", "multi_step_forward")
            changed = _overridden(cls, native, methods)
            changed += _overridden(cls, BaseNode, ("single_step_forward", "materialize_states", "forward"))
            if changed:
                raise _refuse(
                    cls,
                    f"it overrides {', '.join(changed)} of {native.__name__}, so its dynamics are "
                    f"not {native.__name__}'s and fracneuron cannot tell where the charge happens",
                )
            return "transition"
        if cls.single_step_functional_forward is BaseNode.single_step_functional_forward:
            if _has_own_charge(cls, BaseNode):
                return "base_charge"
            raise _refuse(cls, "it defines neither a transition nor neuronal_charge")
        raise _refuse(
            cls,
            "its single_step_functional_forward fuses charge, fire and reset, and fracneuron cannot "
            "separate the charge from it; subclass SimpleBaseNode with a neuronal_charge instead "
            "(fracneuron supports those)",
        )
    raise _refuse(
        cls,
        "it is not a BaseNode, SimpleBaseNode or NonSpikingBaseNode (its state update is not a "
        "charge of the membrane v that fracneuron can reach)",
    )

