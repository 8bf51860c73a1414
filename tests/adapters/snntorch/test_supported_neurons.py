"""fracneuron_snntorch.supported_neurons: unsupported snnTorch classes are refused with a reason."""

from __future__ import annotations

import pytest

import fracneuron

snn = pytest.importorskip("snntorch")


@pytest.mark.parametrize("cls, why", [(snn.Alpha, "not a first-order recursion"), (snn.DeltaLeaky, "change of the membrane"), (snn.SLSTM, "LSTM")])
def test_unsupported_classes_are_refused_with_a_reason(cls, why):
    with pytest.raises(TypeError, match=why):
        fracneuron.fractional(cls)
