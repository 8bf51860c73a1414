r"""fracneuron adapter for SpikingJelly 2.x (``spikingjelly.activation_based``).

    import fracneuron as fn
    fn.fractionalize(net, alpha=0.6)                       # every supported node, in place
    FracLIF = fn.fractional(neuron.LIFNode)                # the class factory
    lif = FracLIF(tau=2.0, step_mode="m", alpha=0.6, memory="exact", learn_alpha=True)

A fractional node charges its membrane with DESIGN.md's step H_n = v_{n-1} + s·Δ_n + c_n, where
Δ_n is the node's own charge increment and c_n = −Σ_k ω_k (v_{n-1-k} − v0) comes from its
:class:`~fracneuron.memory.FractionalMemory` (``node.memory``); SpikingJelly's own fire and reset
act on H_n. At a fixed α = 1 it is the native node bit for bit.

Supported (see ``supported_nodes.classify``):

* ``IFNode``, ``LIFNode``, ``ParametricLIFNode`` and their subclasses that keep the native
  transition (their charge is SpikingJelly's reference charge, see ``native_charges``; at a fixed
  α = 1 the native fused op itself runs);
* ``SimpleIFNode``, ``SimpleLIFNode`` and any ``SimpleBaseNode`` subclass defining
  ``neuronal_charge`` (its fire/reset overrides are kept);
* a user ``BaseNode`` subclass without a transition of its own that defines
  ``neuronal_charge`` (SpikingJelly < 2.0 style): run as charge → fire → reset;
* the readouts ``NonSpikingIFNode``, ``NonSpikingLIFNode`` (and ``NonSpikingBaseNode``
  subclasses with a ``neuronal_charge``).

Refused with a ``TypeError`` that says why:

* ``PSN``, ``MaskedPSN``, ``SlidingPSN``: a learnable weighted sum over time, not a membrane
  recursion;
* ``BaseNode`` subclasses with their own fused ``single_step_functional_forward``
  (``QIFNode``, ``EIFNode``, ``IzhikevichNode``, ``KLIFNode``, ``CUBALIFNode``, ``RAFNode``,
  ``ILIFNode``, ``LIAFNode``, ``OTTTLIFNode``, ``SLTTLIFNode``, ``TernaryIFNode``, MPBN nodes, ...):
  the charge cannot be separated from fire and reset;
* nodes outside the three base classes (``GatedLIFNode``, ``DSRIFNode``, ``STBIFNode``,
  ``FlexSN``, ``FewSpikeNode``, the ``ILC*`` and ``Noisy*`` families, ...).

``fractionalize`` checks every node first and changes nothing if one is refused. A model without
any SpikingJelly node makes ``fracneuron.fractionalize`` raise ``ValueError``.

Not supported: SpikingJelly's explicit-state functional API (``functional_forward`` /
``base.to_functional_forward`` and ``memopt`` checkpointing built on it) treats ``v`` as the
whole state, but the fractional history is module state: each call advances it.
"""
