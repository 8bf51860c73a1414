"""fracneuron_spikingjelly.supported_nodes: unsupported node classes are refused with the reason."""

import pytest

import fracneuron as fn

pytest.importorskip("spikingjelly")

from spikingjelly.activation_based import neuron  # noqa: E402


@pytest.mark.parametrize(
    "cls, message",
    [
        (neuron.PSN, "PSN family .* not as a membrane recursion"),
        (neuron.SlidingPSN, "PSN family"),
        (neuron.QIFNode, "fuses charge, fire and reset"),
        (neuron.ILIFNode, "overrides single_step_functional_forward, multi_step_functional_forward, multi_step_forward of LIFNode"),
        (neuron.OTTTLIFNode, "overrides .*single_step_forward"),
        (neuron.GatedLIFNode, "not a BaseNode, SimpleBaseNode or NonSpikingBaseNode"),
        (neuron.SimpleBaseNode, "does not define neuronal_charge"),
        (neuron.BaseNode, "defines neither a transition nor neuronal_charge"),
    ],
)
def test_unsupported_classes_are_refused_with_the_reason(cls, message):
    with pytest.raises(TypeError, match=f"{cls.__qualname__} cannot be made fractional: .*{message}"):
        fn.fractional(cls)
