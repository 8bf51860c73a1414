r"""Native fractional neurons with spikeDE's constructor: each defines dv/dt, a memory steps it.

A neuron is a membrane equation  D^α v = f(v, x)  (Caputo, 0 < α ≤ 1) plus fire and reset rules.
Each step n (grid step h, input x_n) is *charge → fire → reset*:

    charge:  H_n = v_{n-1} + s·h·f(v_{n-1}, x_n) + c_n     (explicit Grünwald–Letnikov;
                                                             s = h^{α−1}, c_n the memory term)
    fire:    S_n = Θ(H_n − θ)                               (surrogate gradient backward)
    reset:   v_n = H_n − θ S_n                  (soft, BrainPy's spk_reset="soft")
             v_n = S_n v_reset + (1 − S_n) H_n  (hard)

The memory term c_n = −Σ_k ω_k (v_{n-k} − v_0) measures the history from v_0, the membrane the
sequence started from (Caputo's derivative acts on v − v(0); v_0 is the rest level unless
``neuron.v`` was set before the first step), so an undriven, leak-free membrane stays where it
started (see :mod:`fracneuron.memory.fractional`). The charge belongs to the memory (``memory.charge(v, rhs,
h)``, rhs(v) = f(v, x_n)), so a memory with another scheme — ``SNNWrapper``'s ``l1``,
``pred``, ``abm``, ``trap`` — steps the same neuron. At α = 1, h = 1 this is the forward-Euler
neuron of SpikingJelly: ``LIFNeuron(tau)`` equals ``LIFNode(tau=tau, decay_input=True,
v_reset=None)`` bit for bit, and with ``spk_reset="hard", v_reset=r`` it equals
``LIFNode(tau, v_reset=r)``.

Shapes: inputs are batch-first, ``[B, *features]`` per step (``step_mode="s"``) or
``[T, B, *features]`` per sequence (``step_mode="m"``).

Two ways to call a neuron:

* ``spikes = neuron(x)``: stateful, like a SpikingJelly node (state and history live in the
  module; ``reset()`` starts a new sequence, ``detach()`` cuts the graph for truncated BPTT);
* ``dv_dt, spike = neuron(v_mem, current_input)``: spikeDE's stateless form, the effective
  derivative of one step (reset included) for a solver that owns the state.

Modules: :mod:`.base` (``BaseNeuron``: state, charge → fire → reset, refractoriness, traces),
:mod:`.models` (IF, LIF, ALIF: their dv/dt), :mod:`.fused` (a whole LIF/IF sequence as one
autograd node, on the generic sequence kernel with :mod:`.cell`, the neuron's cell) and
:mod:`.lean` (one LIF/IF step as one autograd node).
"""

from .base import TRACE_UPDATES, BaseNeuron
from .models import ALIFNeuron, IFNeuron, LIFNeuron

__all__ = ["BaseNeuron", "IFNeuron", "LIFNeuron", "ALIFNeuron", "TRACE_UPDATES"]
