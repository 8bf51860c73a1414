r"""``fdeint``: solve the Caputo initial value problem on a uniform grid.

    Σ_i c_i D^{α_i} y(t) = f(t, y),   y(t_0) = y_0,    0 < α_i ≤ 1

Methods are looked up by name in :data:`fracneuron.plugins.methods` (plugins add more).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .._checks import check_tensor
from .base import FractionalMethod, MemoryChoice
from .implicit import DEFAULT_MAX_ITER, FixedPoint
from .inputs import Layout, order_and_layout, uniform_step
from .loop import integrate

__all__ = ["fdeint", "solve", "memory_choice", "method_class"]

COMMON_OPTIONS = ("memory", "memory_options", "coefficients", "linear")

Func = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def method_class(name: str) -> type[FractionalMethod]:
    """The method registered as ``name`` (``ValueError`` listing the choices otherwise)."""
    from ..plugins import methods

    if not isinstance(name, str):
        raise TypeError(f"method must be a method name, got {type(name).__name__}")
    return methods.get(name)


def memory_choice(memory: int | str | None = -1, memory_options: dict | None = None) -> MemoryChoice:
    """``memory`` as fdeint/spikeDE take it: -1 (or None) all of the past, an int L the last L
    steps, or a memory engine name (with ``memory_options``)."""
    options = dict(memory_options or {})
    if memory is None or (isinstance(memory, int) and not isinstance(memory, bool) and memory == -1):
        return MemoryChoice("exact", options)
    if isinstance(memory, int) and not isinstance(memory, bool):
        if memory < 1:
            raise ValueError(f"memory must be -1 (all of the past), an int window >= 1 or an engine name, got {memory}")
        return MemoryChoice("window", {**options, "window": memory})
    if isinstance(memory, str):
        if memory == "window":
            window = options.get("window", 32)
            if isinstance(window, bool) or not isinstance(window, int) or window < 1:
                raise ValueError(f"memory_options['window'] must be an integer >= 1, got {window!r}")
        return MemoryChoice(memory, options)
    raise TypeError(f"memory must be -1, an int window or an engine name, got {type(memory).__name__}")


def _check_options(options: dict | None, cls: type[FractionalMethod]) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    allowed = (*COMMON_OPTIONS, *cls.option_names)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for method {cls.name!r}; allowed: {sorted(allowed)}")
    if "tol" in options and not (isinstance(options["tol"], float) and options["tol"] > 0):
        raise ValueError(f"options['tol'] must be a float > 0, got {options['tol']!r}")
    if "max_iter" in options:
        value = options["max_iter"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"options['max_iter'] must be an integer >= 1, got {value!r}")
    return dict(options)


def _linear_part(value, y0: torch.Tensor, layout: Layout):
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return None if value is None else float(value)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"options['linear'] must be a float or a tensor, got {type(value).__name__}")
    try:
        full = value.to(dtype=y0.dtype, device=y0.device).expand(y0.shape)
    except RuntimeError:
        raise ValueError(
            f"options['linear'] of shape {tuple(value.shape)} must broadcast against y0 of shape {tuple(y0.shape)}"
        ) from None
    return layout.to_inner(full)


def _rhs(func: Func, layout: Layout) -> Func:
    shape, reshaped = layout.shape, layout.inner != tuple(layout.shape)

    def g(time: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = func(time, layout.to_outer(y) if reshaped else y)
        if not isinstance(out, torch.Tensor) or out.shape != shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"func(t, y) must return a tensor of y's shape {tuple(shape)}, got {got}")
        return layout.to_inner(out) if reshaped else out

    return g


def solve(func: Func, y0, t, alpha, method: str, options: dict | None, run=None) -> torch.Tensor:
    """Shared by :func:`fdeint` and :func:`~fracneuron.solvers.fdeint_adjoint` (``run`` executes
    each step's local work)."""
    if not callable(func):
        raise TypeError(f"func must be callable as func(t, y), got {type(func).__name__}")
    y0 = check_tensor(y0, "y0")
    h = uniform_step(t)
    cls = method_class(method)
    opts = _check_options(options, cls)
    order, layout = order_and_layout(alpha, opts.get("coefficients"), y0, h or 1.0)
    linear = _linear_part(opts.get("linear"), y0, layout)
    stepper = cls(
        order,
        memory_choice(opts.get("memory", -1), opts.get("memory_options")),
        linear=linear,
        solve=FixedPoint(opts.get("tol"), opts.get("max_iter", DEFAULT_MAX_ITER)),
        options={k: opts[k] for k in cls.option_names if k in opts},
    )
    times = t.to(dtype=y0.dtype, device=y0.device)
    states = integrate(stepper, _rhs(func, layout), layout.to_inner(y0), times, run)
    return states.reshape(times.shape[0], *y0.shape)


def fdeint(
    func: Func,
    y0: torch.Tensor,
    t: torch.Tensor,
    alpha: float | torch.Tensor | Sequence[float | torch.Tensor],
    method: str = "gl",
    options: dict | None = None,
) -> torch.Tensor:
    r"""Solve D^α y = func(t, y), y(t_0) = y0 (Caputo) on the uniform grid ``t``.

    Args:
        func: ``func(t, y)`` with ``t`` a 0-d tensor and ``y`` of ``y0``'s shape; returns f(t, y)
            (or g(t, y) when ``options['linear']`` = λ is given: then f = −λ·y + g).
        y0: initial value, any shape, float32 or float64.
        t: 1-D strictly increasing uniform grid (t_0 is the initial time). A non-uniform grid is
            refused.
        alpha: a float in (0, 1]; a tensor of orders broadcastable to ``y0`` (one per element);
            or a list of orders for the multi-term equation Σ_i c_i D^{α_i} y = f with
            ``options['coefficients']`` (default all 1; methods ``gl``, ``l1``). Tensors may
            require grad.
        method: ``"gl"`` (default), ``"l1"``, ``"pred"``, ``"abm"``, ``"trap"`` or a plugin's.
        options:
            ``memory``: -1 (all of the past, default), an int L (the last L steps: the
            short-memory principle, an approximation whose error does not shrink with h), or an
            engine name (``"exact"``, ``"window"`` with ``memory_options={"window": L}``, and for
            ``gl`` any registered engine such as ``"soe"``);
            ``coefficients``: multi-term coefficients;
            ``linear``: λ (float or tensor broadcastable to ``y0``), a linear part −λ·y taken
            implicitly (``gl``, ``l1``, ``abm`` corrector, ``trap``);
            ``tol``, ``max_iter``: the implicit solve of ``l1`` and ``trap`` (fixed point);
            ``corrector_iters``: corrector evaluations μ of ``abm`` (default 1, PECE).

    Returns:
        ``[len(t), *y0.shape]``, the solution at every grid time (entry 0 is ``y0``).
        Differentiable with respect to ``y0``, the parameters of ``func``, α and the coefficients.
    """
    return solve(func, y0, t, alpha, method, options)
