"""fracneuron: fractional-order (Caputo) memory for spiking neurons.

    import fracneuron as fn
    fn.fractionalize(model, alpha=0.6)                      # a SpikingJelly / snnTorch model
    FracLIF = fn.fractional(spikingjelly.activation_based.neuron.LIFNode)
    lif = fn.LIFNeuron(tau=2.0, alpha=0.6)                  # native, spikeDE-style
    fn.mittag_leffler(0.6, -1.0)                            # the analytic reference
    fn.fdeint(func, y0, t, alpha=0.6, method="abm")         # Caputo FDE solver

Frameworks are imported only by their adapters, and only when used.
"""

from . import memory, neuron, plugins, solvers, surrogate, weights
from .adapter import Adapter
from .options import FractionalOptions
from .convert import fractional, fractionalize
from .memory import FractionalMemory
from .mittag_leffler import mittag_leffler
from .neuron import ALIFNeuron, BaseNeuron, IFNeuron, LIFNeuron
from .order import FractionalOrder
from .solvers import fdeint, fdeint_adjoint, odeint
from .wrapper import SNNWrapper

__version__ = "0.1.0"  # the one version source: pyproject.toml reads it (tool.setuptools.dynamic)

__all__ = [
    "ALIFNeuron",
    "Adapter",
    "BaseNeuron",
    "FractionalMemory",
    "FractionalOptions",
    "FractionalOrder",
    "IFNeuron",
    "LIFNeuron",
    "SNNWrapper",
    "fractional",
    "fractionalize",
    "fdeint",
    "fdeint_adjoint",
    "odeint",
    "memory",
    "mittag_leffler",
    "neuron",
    "plugins",
    "solvers",
    "surrogate",
    "weights",
    "__version__",
]
