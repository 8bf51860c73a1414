r"""A wrapped network that is a chain of layers, run layer by layer instead of step by step.

Stepping calls ``base(x_k)`` for k = 1..T. When ``base`` is a chain — its forward calls one
submodule after another, each on the previous one's output — the same values come from running
each layer once on the whole sequence ``x`` ``[T, B, ...]``:

* a time-distributable module (it treats every sample alike, so the rows of
  ``module(x.reshape(T·B, ...))`` are those of ``module(x_k)``) once on ``[T·B, ...]``;
* a fracneuron neuron once on ``[T, B, ...]`` with ``neuron.multi_step`` (equal to stepping).

The chain is found without running the network (a probe step would move BatchNorm statistics and
neuron state): :mod:`torch.fx` traces ``base.forward`` symbolically through the root and
``nn.Sequential`` containers, every other module a leaf. It is a chain when the graph is
placeholder → call_module → … → output, each node using only the previous one, every module
called once and time-distributable (:func:`module_reason`). Training flags (Dropout, BatchNorm,
parametrizations), hooks and the input's dimensions are re-checked on every call
(:meth:`Chain.reason`). Hooks of the layers run once per call, on the ``[T·B, ...]`` samples.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.nn.utils import parametrize

from ..neuron import BaseNeuron

__all__ = ["Chain", "trace_chain", "modules_key", "same_modules", "module_reason"]

#: spatial dimensions of the batched input of each convolution / pooling class
_SPATIAL = {
    **dict.fromkeys((nn.Conv1d, nn.ConvTranspose1d, nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveMaxPool1d,
                     nn.AdaptiveAvgPool1d), 1),
    **dict.fromkeys((nn.Conv2d, nn.ConvTranspose2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveMaxPool2d,
                     nn.AdaptiveAvgPool2d), 2),
    **dict.fromkeys((nn.Conv3d, nn.ConvTranspose3d, nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveMaxPool3d,
                     nn.AdaptiveAvgPool3d), 3),
}
#: element-wise: any shape (PReLU with one slope per channel needs the channel dim 1)
_ELEMENTWISE = (
    nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardtanh, nn.Hardsigmoid, nn.Hardswish, nn.Softplus, nn.Softsign,
    nn.Softshrink, nn.Hardshrink, nn.Tanhshrink, nn.LogSigmoid, nn.Threshold,
)
#: equal to stepping only in eval mode (in training: a mask stream per call, T·B batch statistics)
_DROPOUT = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
#: a ``dim`` argument that must not be the batch dim
_ALONG_DIM = (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.GLU)
_OTHERS = (nn.Linear, nn.Flatten, nn.Unflatten, nn.LayerNorm, nn.GroupNorm)
_KNOWN = (*_SPATIAL, *_ELEMENTWISE, *_DROPOUT, *_BATCHNORM, *_ALONG_DIM, *_OTHERS)


def _kind(module: nn.Module) -> type | None:
    """The known class whose forward ``module`` runs (a subclass with its own forward: ``None``)."""
    for cls in type(module).__mro__:
        if cls in _KNOWN:
            return cls if type(module).forward is cls.forward else None
    return None


def _label(name: str, module: nn.Module) -> str:
    return f"{type(module).__name__} {name!r}"


def module_reason(name: str, module: nn.Module) -> str | None:
    """Why ``module`` cannot run once on ``[T·B, ...]`` in place of T steps (``None``: it can),
    from its type and arguments; training flags are :meth:`Chain.reason`'s."""
    if isinstance(module, BaseNeuron):  # multi_step runs its single_step, not a forward of its own
        own = type(module).forward is not BaseNeuron.forward
        return f"{_label(name, module)} has its own forward (stepped by calls)" if own else None
    kind = _kind(module)
    if kind is None:
        return f"{_label(name, module)} is not a known time-distributable layer"
    if getattr(module, "inplace", False):
        return f"{_label(name, module)} works in place"
    if getattr(module, "return_indices", False):
        return f"{_label(name, module)} returns indices"
    if kind in _ALONG_DIM and module.dim is None:
        return f"{_label(name, module)} has no explicit dim"
    return None


def _mode_reason(name: str, module: nn.Module) -> str | None:
    """Modules whose training mode draws per call or reads the batch: eval mode only."""
    if isinstance(module, _DROPOUT) and module.training:
        return f"{_label(name, module)} is in training mode (one random mask per call)"
    if isinstance(module, _BATCHNORM) and (module.training or module.running_mean is None):
        return f"{_label(name, module)} uses batch statistics (training mode or no running stats)"
    if module.training and parametrize.is_parametrized(module):  # spectral_norm: a power iteration per call
        return f"{_label(name, module)} is parametrized and in training mode (its weight may update per call)"
    return None


def _resolve(dim: int, ndim: int) -> int:
    return dim + ndim if dim < 0 else dim


def _dims_after(module: nn.Module, ndim: int) -> int | str:
    """Dimensions of one step's output of ``module`` for a ``ndim``-dimensional step input
    ``[B, ...]``, or why dim 0 would not be the batch (unbatched input, an op along dim 0)."""
    if isinstance(module, BaseNeuron):
        return ndim
    kind = _kind(module)
    if kind in _SPATIAL and ndim != _SPATIAL[kind] + 2:
        return f"its step input has {ndim} dims, not the batched {_SPATIAL[kind] + 2}"
    needs_features = kind in (nn.Linear, nn.GroupNorm, *_BATCHNORM) or (
        kind is nn.PReLU and module.num_parameters > 1)
    if needs_features and ndim < 2:
        return "its step input has no feature dims"
    if kind is nn.LayerNorm and len(module.normalized_shape) >= ndim:
        return "it normalises over the batch dim"
    if kind in _ALONG_DIM and _resolve(module.dim, ndim) == 0:
        return "it acts along the batch dim"
    if kind is nn.Flatten:
        start, end = _resolve(module.start_dim, ndim), _resolve(module.end_dim, ndim)
        return "it flattens the batch dim" if start < 1 or end < start else ndim - (end - start)
    if kind is nn.Unflatten:
        dim = _resolve(module.dim, ndim)
        return "it unflattens the batch dim" if dim < 1 else ndim + len(module.unflattened_size) - 1
    return ndim


def _hooked(module: nn.Module) -> bool:
    return bool(module._forward_hooks or module._forward_pre_hooks or module._backward_hooks
                or module._backward_pre_hooks)


@dataclass(frozen=True)
class Chain:
    """The layers of a chain network, in call order, and the containers traced through."""

    names: tuple[str, ...]
    modules: tuple[nn.Module, ...]
    containers: tuple[nn.Module, ...]

    def reason(self, step_dims: int | None) -> str | None:
        """Why this call must be stepped (``None``: it can run layer by layer), for a step input
        ``[B, ...]`` of ``step_dims`` dimensions (``None``: not known yet, not checked)."""
        if any(_hooked(m) for m in self.containers):
            return "the network or a container has hooks (they expect one call per step)"
        ndim = step_dims
        for name, module in zip(self.names, self.modules):
            if isinstance(module, BaseNeuron) and _hooked(module):
                return f"{_label(name, module)} has hooks (they expect one call per step)"
            reason = _mode_reason(name, module)
            if reason:
                return reason
            if ndim is not None:
                ndim = _dims_after(module, ndim)
                if isinstance(ndim, str):
                    return f"{_label(name, module)}: {ndim}"
        return None

    def run(self, x: torch.Tensor) -> torch.Tensor:
        """Every layer once on the whole sequence ``x`` ``[T, B, ...]``; returns ``[T, B, ...]``."""
        steps, batch = x.shape[:2]
        y, flat = x, False
        for module in self.modules:
            if isinstance(module, BaseNeuron):
                if flat:
                    y = y.reshape(steps, batch, *y.shape[1:])
                y, flat = module.multi_step(y), False
            else:
                if not flat:
                    y = y.reshape(steps * batch, *y.shape[2:])
                y, flat = module(y), True  # the module, not its forward: its hooks run
        return y.reshape(steps, batch, *y.shape[1:]) if flat else y


def modules_key(base: nn.Module) -> tuple:
    """What a traced chain depends on: every module object under its name, and an instance-level
    ``forward`` of the root. Compared with ``is``, so a replaced module re-traces."""
    return (base.__dict__.get("forward"), *base.named_modules())


def same_modules(key: tuple, other: tuple | None) -> bool:
    if other is None or len(key) != len(other) or key[0] is not other[0]:
        return False
    return all(a[0] == b[0] and a[1] is b[1] for a, b in zip(key[1:], other[1:]))


def _is_container(module: nn.Module) -> bool:
    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


class _ChainTracer(fx.Tracer):
    """Traces through the root and plain ``nn.Sequential`` containers only: every other module is
    a leaf, so no neuron's (or unknown module's) forward runs on proxies."""

    def __init__(self, root: nn.Module) -> None:
        super().__init__()
        self.root_module = root

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return not (m is self.root_module or _is_container(m))


def trace_chain(base: nn.Module, neurons: list[BaseNeuron]) -> Chain | str:
    """The chain of ``base`` (its neurons must be among ``neurons``, the ones the wrapper
    configured), or why it is not one. Never runs the network's layers; a root forward that sets
    attributes (put back after tracing) is not a chain: the layer path would skip its effects."""
    if isinstance(base, BaseNeuron):
        return Chain(("",), (base,), ()) if any(base is n for n in neurons) else "the neuron was not wrapped"
    saved = dict(vars(base))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            graph = _ChainTracer(base).trace(base)
    except Exception as exc:  # noqa: BLE001  any failure to trace means: step it
        return f"forward cannot be traced symbolically ({type(exc).__name__}: {str(exc).splitlines()[0][:80]})"
    finally:
        state = vars(base)
        changed = state.keys() != saved.keys() or any(state[k] is not v for k, v in saved.items())
        state.clear()
        state.update(saved)
    if changed:
        return "forward sets attributes of the network (a side effect per step)"
    return _chain_of(graph, base, neurons)


def _chain_of(graph: fx.Graph, base: nn.Module, neurons: list[BaseNeuron]) -> Chain | str:
    nodes = list(graph.nodes)
    inputs = [node for node in nodes if node.op == "placeholder"]
    if len(inputs) != 1:
        return f"forward takes {len(inputs)} inputs, not one"
    previous, names, modules = inputs[0], [], []
    for node in nodes[1:]:
        if node.op not in ("call_module", "output"):
            target = getattr(node.target, "__name__", node.target)
            return f"forward does {node.op} {target!r}: only submodule calls run layer by layer"
        if len(previous.users) != 1 or node.args != (previous,) or node.kwargs:
            return f"{previous.name!r} is not used once, by the next call alone (not a chain)"
        if node.op == "output":
            break
        module = base.get_submodule(node.target)
        if any(module is m for m in modules):
            return f"{_label(node.target, module)} is called twice"
        reason = module_reason(node.target, module)
        if reason:
            return reason
        if isinstance(module, BaseNeuron) and not any(module is n for n in neurons):
            return f"{_label(node.target, module)} was added after wrapping"
        names.append(node.target)
        modules.append(module)
        previous = node
    containers = tuple(m for m in base.modules() if m is base or _is_container(m))
    return Chain(tuple(names), tuple(modules), containers)
