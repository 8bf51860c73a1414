r"""The schemes a neuron's memory can charge with, besides its default explicit GL.

``SNNWrapper`` (and anyone through :meth:`fracneuron.memory.FractionalMemory.use`) lets a native
neuron step with an ``fdeint`` method — ``l1``, ``pred``, ``abm``, ``trap`` (each keeping its own
history) — or, at α = 1, with the integer-order ``euler``/``rk4`` steps of ``odeint``. A neuron's
right-hand side acts element by element, so implicit schemes solve by elementwise Newton (exact in
one step for LIF/IF, however stiff).

    gl                 H_n = v_{n-1} + s h f(v_{n-1}) + c_n            (the memory's own, default)
    l1, trap           implicit in H_n, solved by elementwise Newton
    pred, abm          product rectangle / DFF predictor–corrector on the history of f
    euler, rk4         integer order (α = 1), for ``integrator="odeint"``

The post-reset potential is the state the next step starts from. State-history methods (gl, l1)
keep the reset potentials in their history, so a reset's memory decays with the kernel;
integral-form methods (pred, abm, trap) remember the drive f, and a reset shifts the potential
for good. At α = 1 both are the classical neuron.
"""

from __future__ import annotations

from ..memory.engine import engine_named
from ..memory.fractional import ExplicitGL, FractionalMemory
from ..memory.state import FractionalState
from ..order import FractionalOrder
from .base import FractionalMethod, MemoryChoice
from .fdeint import method_class
from .implicit import DEFAULT_MAX_ITER, PointwiseNewton
from .odeint import ODE_STEPS

__all__ = ["OdeMethod", "method_stepper", "use_method"]


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
    def convergence_order(alpha: float) -> float:
        return 1.0

    def prepare(self, y_prev, rest):
        self.n += 1
        return None

    def local(self, y_prev, g_prev, rhs, prepared):
        return self.step(lambda _t, v: rhs(v), 0.0, y_prev, self.h, g_prev)  # input held: no t


def method_stepper(method: str, order: FractionalOrder, memory: MemoryChoice | None, options: dict) -> FractionalMethod:
    """The stepper of ``method`` for a neuron's ``order`` (``memory``: its history's extent)."""
    if method in ODE_STEPS:
        return OdeMethod(order, method)
    cls = method_class(method)
    solve = PointwiseNewton(options.get("tol"), options.get("max_iter", DEFAULT_MAX_ITER))
    own = {k: options[k] for k in cls.option_names if k in options}
    return cls(order, memory or MemoryChoice(), solve=solve, options=own)


def use_method(
    memory: FractionalMemory,
    method: str,
    choice: MemoryChoice | None = None,
    step_size: float | None = None,
    options: dict | None = None,
) -> None:
    """Make ``memory`` charge with ``method`` from now on (a new sequence starts): ``"gl"``
    (explicit Grünwald–Letnikov on the memory's own state, with the engine ``choice`` names), an
    ``fdeint`` method by name (``"l1"``, ``"pred"``, ``"abm"``, ``"trap"``; its own history), or
    ``"euler"``/``"rk4"`` (α = 1). ``choice`` defaults to the current engine, ``step_size`` is the
    grid step h, ``options`` the method's own (``tol``, ``max_iter``, ``corrector_iters``)."""
    if step_size is not None:
        memory.order.set_step_size(step_size)
    if method == "gl":
        if choice is not None:
            memory.state = FractionalState(engine_named(choice.name, dict(choice.options)))
        memory.use(ExplicitGL(memory), method)
    else:
        memory.use(method_stepper(method, memory.order, choice, dict(options or {})), method)
