r"""``SNNWrapper``: spikeDE's workflow on fracneuron's native neurons.

    net = CNN()                                   # any nn.Module with fracneuron neurons inside
    model = SNNWrapper(net, integrator="fdeint", alpha=0.8, learn_alpha=True)
    out = model(x, t, method="gl", options={"memory": -1})     # x [T, B, ...] -> out [T, B, ...]

The wrapper gives every neuron (``fracneuron.neuron`` modules, in ``net.modules()`` order: the
"layers" of a per-layer α) a fractional memory with the configured order, replacing the one the
neuron was built with, sets it to single-step mode, and drives ``net(x[k])`` once per time
step: each neuron charges (with the chosen method), fires and resets, exactly as it does on its
own (:mod:`fracneuron.solvers.steppers`). Shapes are found on the first step, so no shape
registration is needed (``_set_neuron_shapes`` is accepted and does nothing).

Layer by layer: when ``net``'s forward is a chain of submodule calls (spikeDE's ``MLPTest`` and
``CNNTest``, an ``nn.Sequential``), found by symbolic tracing without running it, the wrapper runs
each layer once on the whole sequence instead of calling ``net`` T times: time-distributable layers
(linear, convolution, pooling, flatten, activations, LayerNorm/GroupNorm, eval-mode Dropout and
BatchNorm) on the ``[T·B, ...]`` samples, every neuron on ``[T, B, ...]`` with ``multi_step``.
Spikes and final neuron states are the stepped path's, gradients equal to rounding.
:attr:`SNNWrapper.path` says which path a call takes (``"layer by layer"`` or ``"stepped:
<reason>"``); ``SNNWrapper(..., layer_by_layer=False)`` always steps. Anything else steps: a
forward with other operations, a module called twice, unknown or in-place layers, training-mode
Dropout/BatchNorm/parametrized layers, hooked neurons, the ``_adjoint`` integrators (:mod:`.chain`)::

    model = SNNWrapper(nn.Sequential(nn.Linear(4, 8), LIFNeuron(), nn.Linear(8, 2), LIFNeuron()))
    out = model(torch.rand(16, 32, 4), torch.arange(16.0))
    model.path                                    # 'layer by layer'

Time: ``t`` holds one time per input (T values) or spikeDE's T + 1 grid points; it must be
uniform, and its spacing is the step h of every neuron. As in spikeDE, ``options["step_size"]`` is
read only when ``t`` has a single point; otherwise the spacing of ``t`` wins and a step size that
disagrees with it is ignored with a warning (once per wrapper). Outputs are ``[T, B, ...]``: the
network's output after each step.

Orders (spikeDE's rules):

* ``alpha=0.6``: every layer; ``alpha=[[0.3, 0.5], 0.6]`` (nested): layer by layer, lists are
  multi-term; a flat list is per-layer when ``alpha_mode="per_layer"``, multi-term for every layer
  when ``alpha_mode="multiterm"``, and under ``"auto"`` multi-term if ``multi_coefficient`` is a
  flat list, otherwise per-layer if its length is the number of layers (with a warning either way,
  as spikeDE does).
* ``learn_alpha`` / ``learn_coefficient``: bool or one per layer. Learnable α stays in (0, 1];
  learnable coefficients stay positive (they matter for multi-term layers).
* :attr:`SNNWrapper.alpha_case` names the configuration as spikeDE does: ``"A_scalar"`` (one α
  for every layer), ``"A"`` (one single-term α per layer), ``"B"`` (one multi-term order for every
  layer, coefficients possibly per layer), ``"C"`` (a nested list: per-layer orders, multi-term
  where a layer's entry is a list).

Integrators: ``"fdeint"`` (the methods of :func:`fracneuron.fdeint`), ``"odeint"`` (α = 1:
``"euler"``, ``"rk4"``, and the fdeint methods, which are classical there; fractional arguments
are ignored with a warning, as spikeDE ignores them), and their
``"_adjoint"`` forms, which give the same outputs and gradients but recompute each time step's
activations during the backward pass instead of storing them (memory of the network's
activations independent of T; each neuron must be called once per step, and BatchNorm running
statistics see every step twice).

Modules: :mod:`.snn_wrapper` (the wrapper), :mod:`.chain` (the layer-by-layer path) and
:mod:`.orders` (spikeDE's α configuration).
"""

from .orders import alpha_case, layer_orders
from .snn_wrapper import SNNWrapper

__all__ = ["SNNWrapper", "layer_orders", "alpha_case"]
