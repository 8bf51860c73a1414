r"""The ``SNNWrapper`` module: spikeDE's workflow on fracneuron's native neurons.

What it does with the network, the time grid, the orders and the integrators is described in
:mod:`fracneuron.wrapper`; the α configuration rules live in :mod:`.orders`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .._checks import check_choice, check_tensor
from ..memory import FractionalMemory
from ..neuron import BaseNeuron
from ..options import FractionalOptions
from ..solvers.fdeint import memory_choice, method_class
from ..solvers.inputs import uniform_step
from ..solvers.odeint import ODE_STEPS
from ..solvers.steppers import use_method
from .chain import Chain, modules_key, same_modules, trace_chain
from .orders import INTEGRATORS, alpha_case, layer_flags, layer_orders, plain_value

__all__ = ["SNNWrapper"]

def _coefficients_in_use(order) -> torch.Tensor:
    coefficients = order.coefficients()
    if coefficients is None:
        return torch.ones(order.terms, dtype=torch.float64, device=order.alpha_param.device)
    return coefficients


def _state(neuron: nn.Module) -> dict[str, torch.Tensor]:
    """The neuron's per-sequence tensors (membrane potential, adaptation, ...)."""
    return {name: value for name, value in vars(neuron).items() if isinstance(value, torch.Tensor)}


class SNNWrapper(nn.Module):
    r"""Turn a network containing fracneuron neurons into a fractional-order SNN (spikeDE's API).

    Args:
        base: the network; called once per time step with ``x[k]``.
        integrator: ``"fdeint"``, ``"fdeint_adjoint"``, ``"odeint"`` or ``"odeint_adjoint"``.
        alpha: order(s) in (0, 1] (see the module docstring); ignored by the odeint integrators.
        multi_coefficient: coefficients of multi-term orders (flat, or one list per layer).
        learn_alpha, learn_coefficient: bool, or one bool per neuron layer.
        alpha_mode: ``"auto"``, ``"per_layer"`` or ``"multiterm"`` (flat-list disambiguation).
        interpolation_method: accepted for spikeDE scripts (``"linear"``); inputs are used at the
            grid points, so no interpolation happens.
        layer_by_layer: run a chain network layer by layer (keyword-only, default ``True``): when
            ``base``'s forward is a chain of submodule calls (:mod:`.chain`), every
            time-distributable layer runs once on the whole sequence ``[T·B, ...]`` and every neuron
            once on ``[T, B, ...]`` (``neuron.multi_step``), with the stepped path's outputs, final
            neuron states and gradients (equal to rounding). ``False`` always steps.
            :attr:`path` says which path a call takes and why.
    """

    # defaults for wrappers pickled before the layer-by-layer path existed
    layer_by_layer = True
    _chain = _chain_key = _step_dims = None

    def __init__(
        self,
        base: nn.Module,
        integrator: str = "fdeint",
        alpha: float | Sequence | torch.Tensor = 0.5,
        multi_coefficient: Sequence | None = None,
        learn_alpha: bool | Sequence[bool] = False,
        learn_coefficient: bool | Sequence[bool] = False,
        *,
        alpha_mode: str = "auto",
        interpolation_method: str = "linear",
        layer_by_layer: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(base, nn.Module):
            raise TypeError(f"base must be an nn.Module, got {type(base).__name__}")
        self.integrator = check_choice(integrator, INTEGRATORS, "integrator")
        check_choice(interpolation_method, ("linear",), "interpolation_method")
        if not isinstance(layer_by_layer, bool):
            raise TypeError(f"layer_by_layer must be True or False, got {layer_by_layer!r}")
        self.layer_by_layer = layer_by_layer
        self.base = base
        neurons = [m for m in base.modules() if isinstance(m, BaseNeuron)]
        if not neurons:
            raise ValueError(
                f"{type(base).__name__} contains no fracneuron neuron (fracneuron.neuron.LIFNeuron, "
                "IFNeuron, ALIFNeuron, ...); SNNWrapper steps those"
            )
        n = len(neurons)
        learn_a = layer_flags(learn_alpha, n, "learn_alpha")
        learn_c = layer_flags(learn_coefficient, n, "learn_coefficient")
        if self.integrator.startswith("odeint"):
            # spikeDE ignores the fractional arguments of an integer-order integrator; so do we, aloud
            ignored = [name for name, given in (
                ("alpha", plain_value(alpha) not in (0.5, 1.0)), ("multi_coefficient", multi_coefficient is not None),
                ("learn_alpha", any(learn_a)), ("learn_coefficient", any(learn_c))) if given]
            if ignored:
                warnings.warn(
                    f"integrator {integrator!r} is integer order (alpha = 1): {', '.join(ignored)} "
                    "ignored; use integrator='fdeint' for fractional dynamics",
                    UserWarning,
                    stacklevel=2,
                )
            orders = [(1.0, None)] * n
            learn_a, learn_c = [False] * n, [False] * n
            self.alpha_case = "A_scalar"
        else:
            orders = layer_orders(alpha, multi_coefficient, n, alpha_mode)
            self.alpha_case = alpha_case(orders, alpha)
        for i, (neuron, (a, c)) in enumerate(zip(neurons, orders)):
            options = FractionalOptions(alpha=a, coefficients=c, learn_alpha=learn_a[i], learn_coefficients=learn_c[i])
            try:
                memory = FractionalMemory.from_options(options.validate(), neuron.step_size)
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"neuron layer {i} ({type(neuron).__name__}): {exc}") from None
            like = next(iter(neuron.parameters()), None)
            neuron.memory = memory if like is None else memory.to(like.device)
            neuron.step_mode = "s"  # the wrapper drives time: one step per call
            neuron.reset()
        self._neurons = neurons  # a plain list: the modules are registered under ``base``
        self._memories = [neuron.memory for neuron in neurons]  # the memories the wrapper configures
        self._configuration: tuple | None = None
        self._step_size_warned = False
        self._chain: Chain | str | None = None  # the traced chain, or why base is not one
        self._chain_key: tuple | None = None  # the modules it was traced from
        self._step_dims: int | None = None  # dims of one step's input in the last call

    # ------------------------------------------------------------- queries
    @property
    def neurons(self) -> list[BaseNeuron]:
        """The neuron layers, in ``base.modules()`` order."""
        return list(self._neurons)

    def get_per_layer_alpha(self) -> list[torch.Tensor]:
        """α of each layer as a ``[M]`` tensor (M terms; ``[1]`` for a single order), the values in
        use, differentiable when learnable (spikeDE's name and shapes)."""
        return [neuron.memory.order.alphas().reshape(-1) for neuron in self._neurons]

    def get_per_layer_coefficient(self) -> list[torch.Tensor]:
        """Coefficients of each layer as a ``[M]`` tensor (``[1.0]`` for a single-term layer, as in
        spikeDE), differentiable when learnable."""
        return [_coefficients_in_use(neuron.memory.order) for neuron in self._neurons]

    @property
    def per_layer_alpha_params(self) -> list[torch.Tensor]:
        """Each layer's α parameter ``[M]`` (spikeDE's attribute): what the optimizer updates. A
        learnable α is used through its projection into (0, 1], :meth:`get_per_layer_alpha`."""
        return [neuron.memory.order.alpha_param for neuron in self._neurons]

    @property
    def per_layer_coefficient_params(self) -> list[torch.Tensor]:
        """Each layer's coefficients ``[M]`` (spikeDE's attribute), the values in use (learnable
        coefficients are trained as log c, so they stay positive)."""
        return self.get_per_layer_coefficient()

    @property
    def _alpha_case(self) -> str:
        """spikeDE's private name of :attr:`alpha_case`, read by its example scripts."""
        return self.alpha_case

    def _set_neuron_shapes(self, input_shape=None) -> None:
        """Accepted for spikeDE scripts; shapes are found on the first step, nothing to do."""

    @property
    def path(self) -> str:
        """How a call runs the network: ``"layer by layer"`` or ``"stepped: <reason>"`` (for inputs
        shaped like the last call's; read-only, see ``layer_by_layer``)."""
        reason = self._stepped_reason()
        return "layer by layer" if reason is None else f"stepped: {reason}"

    def _stepped_reason(self) -> str | None:
        if not self.layer_by_layer:
            return "layer_by_layer=False"
        if self.integrator.endswith("_adjoint"):
            return f"integrator {self.integrator!r} checkpoints each step"
        key = modules_key(self.base)
        if not same_modules(key, self._chain_key):  # first call, or a module was replaced: trace again
            self._chain, self._chain_key = trace_chain(self.base, self._neurons), key
        if isinstance(self._chain, str):
            return self._chain
        return self._chain.reason(self._step_dims)

    # ------------------------------------------------------------- running
    def _grid_step(self, x: torch.Tensor, t: torch.Tensor, step_size) -> float:
        """The step h: the spacing of ``t``, or ``step_size`` (default 1) when ``t`` is one point."""
        steps = x.shape[0]
        if not isinstance(t, torch.Tensor) or t.dim() != 1:
            raise ValueError("t must be a 1-D tensor of times")
        if t.shape[0] not in (1, steps, steps + 1):
            raise ValueError(
                f"t must hold one time per input step ({steps}), the {steps + 1} grid points t_0..t_T, or "
                f"only t_0 (with options['step_size']); got {t.shape[0]} times for x with {steps} steps"
            )
        h = uniform_step(t)
        valid = isinstance(step_size, (int, float)) and not isinstance(step_size, bool) and step_size > 0
        if step_size is not None and not valid:
            raise ValueError(f"options['step_size'] must be a number > 0, got {step_size!r}")
        if h == 0.0:
            return float(step_size or 1.0)
        if step_size is not None and abs(step_size - h) > 1e-6 * h and not self._step_size_warned:
            self._step_size_warned = True
            warnings.warn(
                f"options['step_size']={step_size} is ignored: t has {t.shape[0]} points and its spacing "
                f"{h:.6g} is the step (spikeDE reads step_size only for a one-point t)",
                UserWarning,
                stacklevel=3,
            )
        return h

    def _configure(self, method: str, options: dict, h: float) -> None:
        options = dict(options)
        memory = memory_choice(options.pop("memory", -1), options.pop("memory_options", None))
        if method in ODE_STEPS:
            allowed = ()
        else:
            allowed = method_class(method).option_names
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown option(s) {unknown} for method {method!r}; allowed: "
                f"{sorted({'memory', 'memory_options', 'step_size', *allowed})}"
            )
        key = (method, memory.name, tuple(sorted(memory.options.items())), h, tuple(sorted(options.items())))
        for neuron, installed in zip(self._neurons, self._memories):
            if neuron.memory is not installed:
                raise TypeError(f"{type(neuron).__name__}.memory was replaced after wrapping; wrap the network again")
            if key != self._configuration:
                neuron.step_size = h
                use_method(neuron.memory, method, memory, h, options)
            neuron.reset()
        self._configuration = key

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, method: str = "gl", options: dict | None = None
    ) -> torch.Tensor:
        """Run ``x`` ``[T, B, ...]`` on the grid ``t`` (T or T + 1 uniform times); returns the
        network's output at every step, ``[T, B, ...]``.

        ``method``: an fdeint method (``"gl"``, ``"l1"``, ``"pred"``, ``"abm"``, ``"trap"``) or, for
        the odeint integrators, also ``"euler"``/``"rk4"``. ``options``: ``memory`` (-1, an int
        window, an engine name), ``memory_options``, ``step_size`` (must match the spacing of t),
        and the method's own (``tol``, ``max_iter``, ``corrector_iters``). A chain network runs
        layer by layer, any other is stepped (:attr:`path`); the values are the same.
        """
        x = check_tensor(x, "x")
        if x.dim() < 2:
            raise ValueError(f"x must have shape [T, B, ...], got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"x has no time steps (shape {tuple(x.shape)}); SNNWrapper needs T >= 1")
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be a dict, got {type(options).__name__}")
        options = dict(options or {})
        h = self._grid_step(x, t, options.pop("step_size", None))
        if not isinstance(method, str):
            raise TypeError(f"method must be a method name, got {type(method).__name__}")
        if method in ODE_STEPS and not self.integrator.startswith("odeint"):
            raise ValueError(f"method {method!r} is integer order; use integrator='odeint' (or an fdeint method)")
        self._configure(method, options, h)
        self._step_dims = x.dim() - 1
        if self._stepped_reason() is None:
            return self._chain.run(x)
        if self.integrator.endswith("_adjoint") and torch.is_grad_enabled():
            outputs = self._run_recomputed(x)
        else:
            outputs = [self._step(x_k) for x_k in x]
        return torch.stack(outputs)

    def _step(self, x_k: torch.Tensor) -> torch.Tensor:
        out = self.base(x_k)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the wrapped network must return a tensor per step, got {type(out).__name__}")
        return out

    def _run_recomputed(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each step after the first is checkpointed: its inputs (the neuron states and history
        sums, computed first) are kept, its activations recomputed in the backward pass."""
        outputs = [self._counted_step(x[0])]  # the first step finds the shapes
        replayed: set[int] = set()
        for k in range(1, x.shape[0]):
            states = [_state(neuron) for neuron in self._neurons]
            prepared = [neuron.memory.prepare_step(neuron.v) for neuron in self._neurons]
            outputs.append(checkpoint(self._replay, k, replayed, x[k], states, prepared, use_reentrant=False))
            self._check_calls()
        return outputs

    def _replay(self, k: int, replayed: set, x_k: torch.Tensor, states: list, prepared: list) -> torch.Tensor:
        again = k in replayed
        replayed.add(k)
        for neuron, state, part in zip(self._neurons, states, prepared):
            for name, value in state.items():
                setattr(neuron, name, value)
            neuron.memory.inject(part, replaying=again)
        return self._step(x_k)

    def _counted_step(self, x_k: torch.Tensor) -> torch.Tensor:
        out = self._step(x_k)
        self._check_calls()
        return out

    def _check_calls(self) -> None:
        for neuron in self._neurons:
            calls, neuron.memory.charges = neuron.memory.charges, 0
            if calls != 1:
                raise RuntimeError(
                    f"{type(neuron).__name__} was called {calls} times in one time step; the adjoint "
                    "integrators need every neuron called exactly once per step"
                )

    def extra_repr(self) -> str:
        return f"integrator={self.integrator}, layers={len(self._neurons)}, path={self.path}"
