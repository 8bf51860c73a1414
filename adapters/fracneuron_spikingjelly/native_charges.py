r"""The charge inside SpikingJelly's fused IF/LIF/PLIF transitions, as a function H(x, v).

``IFNode``, ``LIFNode`` and ``ParametricLIFNode`` charge, fire and reset in one op
(``functional.lif_step`` ...), which cannot take a correction. A fractional step needs their
charge on its own; it is SpikingJelly's reference charge (v0 = ``v_reset``, 0 for a soft reset):

    IF:                     H = v + x
    LIF,  decay_input:      H = v + (x − (v − v0)) / τ          (``functional.lif_charge``)
    LIF,  no decay_input:   H = v − (v − v0) / τ + x
    PLIF: as LIF with 1/τ = sigmoid(w)

written with the same operations in the same order as SpikingJelly's ops, so that H is the
native charged potential bit for bit. Firing (``node.surrogate_function``) and resetting
(``functional.voltage_reset``) stay SpikingJelly's own.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from spikingjelly.activation_based import functional
from spikingjelly.activation_based.neuron import IFNode, LIFNode, ParametricLIFNode

__all__ = ["CHARGES"]


def if_charge(node: IFNode, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return v + x


def lif_charge(node: LIFNode, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return functional.lif_charge(x, v, node.tau, node.decay_input, node.v_reset)


def plif_charge(node: ParametricLIFNode, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    rate = node.w.sigmoid()  # 1/τ
    rest = 0.0 if node.v_reset is None else node.v_reset
    if node.decay_input:
        return v + (x - (v - rest)) * rate
    return v - (v - rest) * rate + x


#: native transition class -> H(node, x, v)
CHARGES: dict[type, Callable[..., torch.Tensor]] = {
    IFNode: if_charge,
    LIFNode: lif_charge,
    ParametricLIFNode: plif_charge,
}
