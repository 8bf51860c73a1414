"""The plugin module named by the ``fracneuron`` entry point: one hook, one registration."""

from fracneuron.plugins import hookimpl

from . import slayer


@hookimpl
def fracneuron_register_surrogates(register):
    register("slayer", slayer, aliases=("laplace",))
