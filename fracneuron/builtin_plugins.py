"""fracneuron's own engines and spike functions, registered through the public hooks."""

from __future__ import annotations

from .plugins.hookspecs import hookimpl


@hookimpl
def fracneuron_register_memories(register):
    from .memory.exact import ExactMemory
    from .memory.soe import SoeMemory
    from .memory.window import WindowMemory

    register("exact", ExactMemory)
    register("window", WindowMemory)
    register("soe", SoeMemory)


@hookimpl
def fracneuron_register_surrogates(register):
    from .surrogate import builtin_factories

    for name, factory, aliases in builtin_factories():
        register(name, factory, aliases=aliases)


@hookimpl
def fracneuron_register_methods(register):
    from .solvers.gl import GrunwaldLetnikov
    from .solvers.l1 import L1
    from .solvers.product import AdamsBashforthMoulton, ProductRectangle, ProductTrapezoid

    register("gl", GrunwaldLetnikov, aliases=("glmulti",))
    register("l1", L1)
    register("pred", ProductRectangle)
    register("abm", AdamsBashforthMoulton)
    register("trap", ProductTrapezoid)
