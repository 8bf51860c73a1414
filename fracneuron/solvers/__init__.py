r"""Solvers for fractional (Caputo) and ordinary initial value problems.

    fdeint(func, y0, t, alpha, method="gl", options=None)          Σ c_i D^{α_i} y = f(t, y)
    fdeint_adjoint(...)                                             same, adjoint backward pass
    odeint(func, y0, t, method="euler" | "rk4")                     dy/dt = f(t, y)

Methods are small classes (:class:`FractionalMethod`, :mod:`fracneuron.solvers.base`), each
declaring its convergence order and its weights — :mod:`~fracneuron.solvers.gl` (Grünwald–Letnikov),
:mod:`~fracneuron.solvers.l1` (L1), :mod:`~fracneuron.solvers.product` (product rectangle,
Adams–Bashforth–Moulton, product trapezoid) — and sharing one stepping loop
(:func:`~fracneuron.solvers.loop.integrate`). They are registered by name through the
``fracneuron_register_methods`` plugin hook; a native neuron's memory charges with any of them
(:meth:`fracneuron.memory.FractionalMemory.use`, :mod:`fracneuron.solvers.steppers`).
"""

from .adjoint import fdeint_adjoint
from ..memory import FractionalMemory as MethodMemory  # the memory holds the stepper now (older name)
from .base import FractionalMethod, MemoryChoice
from .fdeint import fdeint, memory_choice, method_class
from .gl import GrunwaldLetnikov
from .l1 import L1
from .loop import integrate
from .odeint import odeint
from .product import AdamsBashforthMoulton, ProductRectangle, ProductTrapezoid

__all__ = [
    "fdeint",
    "fdeint_adjoint",
    "odeint",
    "FractionalMethod",
    "MethodMemory",
    "MemoryChoice",
    "integrate",
    "memory_choice",
    "method_class",
    "GrunwaldLetnikov",
    "L1",
    "ProductRectangle",
    "AdamsBashforthMoulton",
    "ProductTrapezoid",
]
