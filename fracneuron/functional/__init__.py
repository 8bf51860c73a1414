r"""The pure math of fractional memory: functions of explicit tensors, no modules, no hidden state.

* :mod:`.step` — :func:`fractional_potential`, the one formula H_n = v_{n-1} + s·Δ_n + c_n that
  every neuron, adapter, solver and fused path calls;
* :mod:`.stored_history` — the stored-history convolution c_n = −Σ_k ω_k u_{n-k} behind the
  ``exact`` and ``window`` engines (a :class:`~.stored_history.Past` handle advanced by
  :func:`.stored_history.step`), with :mod:`.block_products` (its blocks' matrix products) and
  :mod:`.past_store` (the copy-on-write buffer of stored values);
* :mod:`.exponential_modes` — the same convolution with a sum-of-exponentials tail, behind ``soe``;
  :mod:`.mode_steps` — its recorded steps and their backward;
* :mod:`.per_neuron` — the element-wise sums of a kernel that is one per neuron;
* :mod:`.sequence` — a whole sequence of a spiking neuron as one autograd node (the fused path);
* :mod:`.traced` — the stored-history convolution in plain tensor operations, for ``torch.compile``;
* :mod:`.reset_free` — a whole reset-free linear trajectory as one FFT convolution.

Each hand-written backward is one ``autograd.Function`` per call with no state shared between
calls. The modules of :mod:`fracneuron.memory` and :mod:`fracneuron.neuron` hold the parameters
and the running state and call these functions.
"""

from .step import fractional_potential

__all__ = ["fractional_potential"]
