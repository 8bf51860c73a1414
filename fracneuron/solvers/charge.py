r"""A neuron memory that charges with any ``fdeint`` method (used by :class:`fracneuron.SNNWrapper`).

A native neuron's step is charge → fire → reset; the charge is delegated to its memory,
``memory.charge(v_{n-1}, rhs, h)`` with rhs(v) = dv/dt(v, x_n) (the input held over the
step). :class:`~fracneuron.memory.FractionalMemory` charges by explicit Grünwald–Letnikov; a
:class:`MethodMemory` charges by the method chosen with :meth:`MethodMemory.use`:

    gl                 H_n = v_{n-1} + s h f(v_{n-1}) + c_n                    (the same formula)
    l1, trap           implicit in H_n, solved by elementwise Newton (exact in one step for LIF/IF)
    pred, abm          product rectangle / DFF predictor–corrector on the history of f
    euler, rk4         integer order (α = 1), for ``integrator="odeint"``

The post-reset potential is the state the next step starts from. State-history methods (gl, l1)
keep the reset potentials in their history, so a reset's memory decays with the kernel;
integral-form methods (pred, abm, trap) remember the drive f, and a reset shifts the potential
for good. At α = 1 both are the classical neuron.

For ``integrator="fdeint_adjoint"`` the wrapper computes each step's history part first
(:meth:`prepare_step`) and replays the local part during the backward pass (:meth:`inject`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..memory.base import FractionalMemory
from .base import FractionalMethod, MemoryChoice
from .fdeint import method_class
from .implicit import DEFAULT_MAX_ITER, PointwiseNewton
from .odeint import ODE_STEPS

__all__ = ["MethodMemory", "OdeMethod"]


class OdeMethod(FractionalMethod):
    """Integer-order steps (``euler``, ``rk4``) in the method protocol, for α = 1 neurons."""

    accepts_linear = False

    def __init__(self, order, name: str) -> None:
        if not order.is_markovian:
            raise ValueError(f"method {name!r} is an integer-order (odeint) method; it needs alpha = 1")
        self.name = name
        self.step = ODE_STEPS[name]
        super().__init__(order)

    @staticmethod
    def order(alpha: float) -> float:
        return 1.0

    def prepare(self, y_prev, rest):
        self.n += 1
        return None

    def local(self, y_prev, g_prev, rhs, prepared):
        return self.step(lambda _t, v: rhs(v), 0.0, y_prev, self.h, g_prev)  # input held: no t


class MethodMemory(FractionalMemory):
    """:class:`FractionalMemory` (same arguments, same α parameters) whose charge uses a method.

    Until :meth:`use` is called it charges exactly like ``FractionalMemory``.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stepper: FractionalMethod | None = None
        self.method = "gl"
        self._injected: tuple | None = None
        self._replaying = False
        self.charges = 0  # charges since the wrapper last looked

    def use(self, method: str, memory: MemoryChoice, step_size: float, options: dict | None = None) -> None:
        """Charge with ``method`` on a grid of step ``step_size`` from now on (and reset)."""
        self.order.set_step_size(step_size)
        options = dict(options or {})
        if method in ODE_STEPS:
            stepper = OdeMethod(self.order, method)
        else:
            cls = method_class(method)
            solve = PointwiseNewton(options.get("tol"), options.get("max_iter", DEFAULT_MAX_ITER))
            own = {k: options[k] for k in cls.option_names if k in options}
            stepper = cls(self.order, memory, solve=solve, options=own)
            if getattr(stepper, "engine", None) is not None:
                self.engine = stepper.engine  # FractionalMemory's bookkeeping sees the live engine
        self.stepper, self.method = stepper, method
        self.reset()

    # --------------------------------------------------------------- charging
    def charge(self, v_prev, rhs, step_size):
        if self.stepper is None:
            return super().charge(v_prev, rhs, step_size)
        if step_size != self.order.step_size:
            raise ValueError(
                f"the neuron steps by {step_size} but its memory was set up for {self.order.step_size}; "
                "call use() again after changing the step"
            )
        if self._injected is not None:
            stepper, prepared = self._injected
            self._injected = None
        else:
            stepper, prepared = self.stepper, self.prepare_step(v_prev)[1]
        g_prev = rhs(v_prev)
        h = stepper.local(v_prev, g_prev, rhs, prepared)
        if not self._replaying:
            stepper.finish(h, g_prev, v_prev)
            self.charges += 1
        return h

    def prepare_step(self, v_prev: torch.Tensor) -> tuple:
        """(stepper, history part) of the next step from ``v_prev``; extends the stored past. The
        first step of a sequence takes ``v_prev`` as the anchor its history is measured from."""
        if self.order.per_neuron and not self.order.is_materialized:
            self.order.materialize(v_prev.shape[1:])
        if self.anchor is None or self.stepper.n == 0:
            self.anchor = v_prev
        self.steps_since_cut += 1
        return self.stepper, self.stepper.prepare(v_prev, self.anchor)

    def inject(self, prepared: tuple, replaying: bool) -> None:
        """Use ``prepared`` (from :meth:`prepare_step`) for the next charge; ``replaying``: the
        charge is a recomputation during the backward pass (remember nothing)."""
        self._injected = prepared
        self._replaying = replaying

    # ------------------------------------------------------------ bookkeeping
    def reset(self) -> None:
        if self.stepper is None:
            super().reset()
        else:
            self.stepper.reset()  # owns the live history (for gl: the engine)
            self.anchor = None
            self.steps_since_cut = 0
        self._injected = None
        self._replaying = False
        self.charges = 0

    def detach(self) -> None:
        if self.stepper is None:
            super().detach()
        else:
            self.stepper.detach()
            self.anchor = None if self.anchor is None else self.anchor.detach()
            self.steps_since_cut = 0

    @property
    def steps(self) -> int:
        return self.engine.steps if self.stepper is None else self.stepper.n

    def _apply(self, fn, recurse=True):
        if self.stepper is None:
            return super()._apply(fn, recurse)
        nn.Module._apply(self, fn, recurse)  # parameters; the live history is the stepper's
        self.stepper.apply(fn)
        self.anchor = None if self.anchor is None else fn(self.anchor)
        return self

    def extra_repr(self) -> str:
        return f"method={self.method}, " + super().extra_repr()
