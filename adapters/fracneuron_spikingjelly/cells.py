r"""IF/LIF/PLIF steps for the fused multi-step path (:mod:`fracneuron.functional.sequence`).

A cell is what the sequence kernel needs of a node besides its memory: SpikingJelly's own charge
(:data:`~fracneuron_spikingjelly.native_charges.CHARGES`), its fire (``node.surrogate_function``,
with its α) and its reset (``functional.voltage_reset``: hard or soft, ``detach_reset``), and their
derivatives for the hand-written backward (rest level v0 = ``v_reset``, 0 for a soft reset):

    IF:                   C = V + x                      ∂C/∂x = 1,    ∂C/∂V = 1
    LIF,  decay_input:    C = V + (x − (V − v0))/τ       ∂C/∂x = 1/τ,  ∂C/∂V = 1 − 1/τ
    LIF,  no decay_input: C = V − (V − v0)/τ + x         ∂C/∂x = 1,    ∂C/∂V = 1 − 1/τ
    PLIF: as LIF with 1/τ = r = sigmoid(w)               ∂C/∂w = r(1 − r)·(x − (V − v0))  (decay_input)
                                                                  r(1 − r)·(−(V − v0))    (otherwise)

    soft reset R = H − θS:           ∂R/∂H = 1,      ∂R/∂S = −θ
    hard reset R = S v0 + (1 − S)H:  ∂R/∂H = 1 − S,  ∂R/∂S = v0 − H      (∂R/∂S = 0 when detached)

σ'(z) is the surrogate function's own derivative: SpikingJelly's ``backward(grad, x, **params)``
formula of the surrogate class (with its α), or for another spike function its autograd backward
applied to ones (the spike functions are element-wise).
"""

from __future__ import annotations

import torch

from spikingjelly.activation_based import functional, surrogate
from spikingjelly.activation_based.surrogate import SurrogateFunctionBase
from spikingjelly.activation_based.neuron import IFNode, LIFNode, ParametricLIFNode

from fracneuron.surrogate import heaviside

from .native_charges import CHARGES
from .supported_nodes import transition_of

__all__ = ["cell_for", "CELLS"]

#: SpikingJelly surrogates whose spiking forward is ``heaviside(x)`` (their autograd Function's
#: ``forward``): without a graph the fused forward calls ``heaviside`` itself, skipping
#: ``Function.apply``'s per-call argument binding (tests check each gives the same spikes)
HEAVISIDE_SURROGATES = tuple(
    getattr(surrogate, name)
    for name in (
        "PiecewiseQuadratic", "PiecewiseExp", "Sigmoid", "SoftSign", "SuperSpike", "ATan",
        "NonzeroSignLogAbs", "Erf", "PiecewiseLeakyReLU", "SquarewaveFourierSeries", "S2NN",
        "QPseudoSpike", "LeakyKReLU", "FakeNumericalGradient", "LogTailedReLU", "Rect",
    )
    if hasattr(surrogate, name)
)


def _plain_heaviside(function) -> bool:
    """Whether ``function`` (a node's surrogate) spikes by ``heaviside`` exactly: one of
    :data:`HEAVISIDE_SURROGATES` (the class itself, not a subclass), spiking, with no hooks."""
    return (
        type(function) in HEAVISIDE_SURROGATES
        and function.spiking is True
        and not function._forward_hooks
        and not function._forward_pre_hooks
    )


class NodeCell:
    """Fire and reset of a SpikingJelly ``BaseNode``; subclasses add the charge's derivatives."""

    def __init__(self, node) -> None:
        self.node = node
        self.threshold = node.v_threshold
        self.charge_of = CHARGES[self.native]
        self.params: tuple = ()
        self.heaviside = _plain_heaviside(node.surrogate_function)

    native: type = IFNode

    def charge(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.charge_of(self.node, x, v)

    def charge_partials(self) -> tuple:
        return 1.0, 1.0

    def param_grads(self, x_seq, v_prev, grad_charged) -> list:
        return []

    def fire(self, z: torch.Tensor) -> torch.Tensor:
        if self.heaviside and not torch.is_grad_enabled():
            return surrogate.heaviside(z)
        return self.node.surrogate_function(z)

    def fire_into(self, z: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """:meth:`fire` written into ``out`` (a step's row of the sequence's spikes): SpikingJelly's
        ``heaviside`` ((z >= 0).to(z)) as one comparison into ``out``, else fire's result copied."""
        if self.heaviside and not torch.is_grad_enabled():
            return heaviside(z, out)
        return out.copy_(self.fire(z))

    def fire_slope(self, z: torch.Tensor) -> torch.Tensor:
        function = self.node.surrogate_function
        backward, params = getattr(type(function), "backward", None), getattr(function, "_sg_params", None)
        if isinstance(function, SurrogateFunctionBase) and callable(backward) and isinstance(params, dict):
            return backward(torch.ones_like(z), z, **params)  # SpikingJelly's own gradient formula
        with torch.enable_grad():  # any other element-wise spike function: its backward on ones
            z = z.detach().requires_grad_()
            (slope,) = torch.autograd.grad(self.node.surrogate_function(z), z, torch.ones_like(z))
        return slope

    def reset(self, H: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
        node = self.node
        return functional.voltage_reset(H, S, node.v_threshold, node.v_reset, node.detach_reset)

    def reset_partials(self, H: torch.Tensor, S: torch.Tensor) -> tuple:
        node = self.node
        if node.v_reset is None:
            return 1.0, None if node.detach_reset else -node.v_threshold
        return 1.0 - S, None if node.detach_reset else node.v_reset - H

    def rest(self) -> float:
        return 0.0 if self.node.v_reset is None else self.node.v_reset


class LIFCell(NodeCell):
    native = LIFNode

    def charge_partials(self) -> tuple:
        rate = 1.0 / self.node.tau
        return (rate if self.node.decay_input else 1.0), 1.0 - rate


class PLIFCell(NodeCell):
    native = ParametricLIFNode

    def __init__(self, node) -> None:
        super().__init__(node)
        w = node.w
        self.params = (w,) if torch.is_grad_enabled() and w.requires_grad else ()
        self.rate = w.detach().sigmoid()

    def charge_partials(self) -> tuple:
        rate = self.rate
        return (rate if self.node.decay_input else 1.0), 1.0 - rate

    def param_grads(self, x_seq, v_prev, grad_charged) -> list:
        rest = self.rest()
        leak = v_prev - rest if rest != 0.0 else v_prev
        drive = x_seq - leak if self.node.decay_input else -leak
        grad_rate = (grad_charged * drive).sum()
        rate = self.rate
        return [(grad_rate * rate * (1.0 - rate)).reshape(self.node.w.shape)]


#: native transition class -> its cell
CELLS: dict[type, type] = {IFNode: NodeCell, LIFNode: LIFCell, ParametricLIFNode: PLIFCell}


def cell_for(node) -> NodeCell:
    """The cell of a fractional IF/LIF/PLIF node."""
    return CELLS[transition_of(node.native_class)](node)
