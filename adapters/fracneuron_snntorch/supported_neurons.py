"""Which snnTorch neuron classes the adapter supports, and how each carries its state.

A class belongs to the *family* of the nearest class in its MRO that snnTorch itself defines, so a
user subclass of ``snn.Leaky`` is a Leaky and a subclass of ``snn.DeltaLeaky`` (itself a Leaky
subclass with a different state protocol) is refused like ``DeltaLeaky``. Nothing here imports
snnTorch: classes are recognised by the module and name of their snnTorch ancestor.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Family", "SUPPORTED", "REFUSED", "snntorch_ancestor", "family_of"]


@dataclass(frozen=True)
class Family:
    """How a supported snnTorch class is called and configured.

    Attributes:
        native: the snnTorch class name.
        states: names of the state arguments of ``forward(input_, *states)``, in order; the
            fractional memory always rides on ``mem``.
        order_arg: constructor keyword of the fractional order. ``alpha`` unless the native class
            already uses that name (Synaptic's synaptic decay rate): then ``frac_alpha``.
        step_attr: buffer holding the time step h of the discretisation (Lapicque's
            ``time_step``); ``None`` for per-step models (h = 1).
    """

    native: str
    states: tuple[str, ...]
    order_arg: str = "alpha"
    step_attr: str | None = None

    @property
    def learn_order_arg(self) -> str:
        return "learn_" + self.order_arg

    @property
    def mem_index(self) -> int:
        """Position of ``mem`` among the state arguments of ``forward``."""
        return self.states.index("mem")


SUPPORTED: dict[str, Family] = {
    family.native: family
    for family in (
        Family("Leaky", ("mem",)),
        Family("Synaptic", ("syn", "mem"), order_arg="frac_alpha"),
        Family("Lapicque", ("mem",), step_attr="time_step"),
        Family("RLeaky", ("spk", "mem")),
        Family("RSynaptic", ("spk", "syn", "mem"), order_arg="frac_alpha"),
    )
}

REFUSED: dict[str, str] = {
    "Alpha": (
        "its membrane is not a first-order recursion: every step recomputes "
        "mem = tau_alpha * (syn_exc + syn_inh) from the two synaptic currents, with no mem_{n-1} "
        "term, so there is no membrane increment mem_n - mem_{n-1} for a fractional memory to act "
        "on (use snntorch.Synaptic: fractional membrane driven by a first-order synaptic current)"
    ),
    "DeltaLeaky": (
        "it fires on the change of the membrane, carries a (mem, mem_prev) tuple and never resets, "
        "and its forward bypasses the Leaky state function the adapter hooks"
    ),
    "StateLeaky": (
        "it computes the whole sequence at once by a causal convolution with an exponential kernel; "
        "there is no per-step state update to extend"
    ),
    "LinearLeaky": "it is a StateLeaky (whole-sequence causal convolution, no per-step state update)",
    "LeakyParallel": (
        "it runs the whole sequence through torch.nn.RNN in one call; there is no per-step "
        "membrane update to extend"
    ),
    "AssociativeLeaky": "it processes the whole sequence at once and has no per-step membrane update",
    "SLSTM": "its state is an LSTM cell (c, h), not a membrane potential with a first-order update",
    "SConv2dLSTM": "its state is a convolutional LSTM cell (c, h), not a membrane potential with a first-order update",
}


def snntorch_ancestor(cls: type) -> type | None:
    """The nearest class in ``cls.__mro__`` defined by snnTorch (``None`` if there is none)."""
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] == "snntorch":
            return klass
    return None


def family_of(cls: type) -> Family:
    """The family of ``cls``; ``TypeError`` saying why when the adapter cannot support it."""
    ancestor = snntorch_ancestor(cls)
    name = f"{cls.__module__}.{cls.__qualname__}"
    supported = ", ".join(SUPPORTED)
    if ancestor is None:
        raise TypeError(f"{name} is not an snnTorch neuron class (supported: {supported} and their subclasses)")
    if ancestor.__name__ in SUPPORTED:
        return SUPPORTED[ancestor.__name__]
    if ancestor.__name__ in REFUSED:
        raise TypeError(
            f"snntorch.{ancestor.__name__} cannot be made fractional: {REFUSED[ancestor.__name__]}. "
            f"Supported: {supported}"
        )
    raise TypeError(
        f"{name} is not an snnTorch neuron class the adapter supports (snnTorch ancestor "
        f"{ancestor.__module__}.{ancestor.__qualname__}); supported: {supported} and their subclasses"
    )
