r"""Solvers for fractional (Caputo) and ordinary initial value problems.

    fdeint(func, y0, t, alpha, method="gl", options=None)          Σ c_i D^{α_i} y = f(t, y)
    fdeint_adjoint(...)                                             same, adjoint backward pass
    odeint(func, y0, t, method="euler" | "rk4")                     dy/dt = f(t, y)

Methods (:mod:`fracneuron.solvers.methods`) are small classes sharing one stepping loop
(:mod:`fracneuron.solvers.base`), registered by name through the ``fracneuron_register_methods``
plugin hook; a native neuron's memory charges with any of them
(:meth:`fracneuron.memory.FractionalMemory.use`, :mod:`fracneuron.solvers.steppers`).
"""

from .adjoint import fdeint_adjoint
from .base import FractionalMethod, MemoryChoice, integrate
from ..memory import FractionalMemory as MethodMemory  # the memory holds the stepper now (older name)
from .fdeint import fdeint, memory_choice, method_class
from .methods import L1, AdamsBashforthMoulton, GrunwaldLetnikov, ProductRectangle, ProductTrapezoid
from .odeint import odeint

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
