"""What a third-party plugin may not do, and what the user is told.

Each row installs one broken plugin (entry point ``broken``, through a generated dist-info on
sys.path) next to a good one (``goodkit``). The broken plugin is left out as a whole, with the
reason in ``plugin_failures()``, one RuntimeWarning and the ``fracneuron plugins`` listing (exit 0);
fracneuron and the good plugin work as if it were not there.
"""

import importlib
import sys
import textwrap
import warnings

import pytest
import torch

import fracneuron as fn
from fracneuron import cli, plugins, surrogate
from fracneuron.memory.exact import ExactMemory

from distributions import make_distribution

HEADER = """\
from fracneuron.adapter import Adapter
from fracneuron.memory.exact import ExactMemory
from fracneuron.plugins import hookimpl
from fracneuron.surrogate import get as get_surrogate
"""

GOOD_PLUGIN = HEADER + """
@hookimpl
def fracneuron_register_memories(register):
    register("good_tape", ExactMemory)
"""


def hook(name, body, marker="@hookimpl", args="register"):
    return f"\n{marker}\ndef {name}({args}):\n{textwrap.indent(textwrap.dedent(body), '    ')}\n"


MEM, SUR, ADA, MET = (f"fracneuron_register_{k}" for k in ("memories", "surrogates", "adapters", "methods"))

# (what the plugin does, its source below HEADER, what the user is told)
ROWS = [
    ("fails to import", "raise ImportError('needs libfoo')\n",
     "failed to load from fracneuron_broken 0.1: ImportError: needs libfoo"),
    ("misspells a hook name", hook("fracneuron_register_memoirs", "register('tape', ExactMemory)"),
     "unknown hook 'fracneuron_register_memoirs' in plugin"),
    ("gives a hook other argument names", hook(MEM, "reg('tape', ExactMemory)", args="reg"),
     "Argument(s) {'reg'} are declared in the hookimpl but can not be found in the hookspec"),
    ("raises in a hook", hook(MEM, "raise RuntimeError('needs libfoo')"),
     f"{MEM} raised RuntimeError: needs libfoo"),
    ("raises a message of several lines", hook(MEM, "raise RuntimeError('needs\\n  libfoo')"),
     f"{MEM} raised RuntimeError: needs libfoo"),
    ("takes a built-in name", hook(MEM, "register('exact', ExactMemory)"),
     f"{MEM}: memory 'exact' is already registered by plugin 'builtin'"),
    ("takes a built-in alias", hook(SUR, "register('arc2', get_surrogate, aliases=('arctan_surrogate',))"),
     f"{SUR}: surrogate 'arctan_surrogate' is already registered by plugin 'builtin'"),
    ("registers a non-adapter as an adapter", hook(ADA, "register('spikingjelly')"),
     f"{ADA}: an adapter must be a fracneuron.adapter.Adapter instance, got str 'spikingjelly'"),
    ("registers an adapter class, not an instance",
     hook(ADA, "class Mine(Adapter):\n    name = 'mine'\nregister(Mine)"),
     f"{ADA}: adapter 'mine' must be a fracneuron.adapter.Adapter instance, got type"),
    ("registers an adapter without a name", hook(ADA, "register(Adapter())"),
     f"{ADA}: an adapter needs a non-empty string name, got ''"),
    ("registers a memory that is not callable", hook(MEM, "register('tape', 3)"),
     f"{MEM}: memory 'tape' must be callable (factory(**options) -> MemoryEngine), got int 3"),
    ("registers a method that is not a FractionalMethod", hook(MET, "register('euler2', object)"),
     f"{MET}: method 'euler2' must be a fracneuron.solvers.FractionalMethod subclass, got type"),
    ("registers a surrogate that is not callable", hook(SUR, "register('step2', 'heaviside')"),
     f"{SUR}: surrogate 'step2' must be callable (factory(scale) -> spike function), got str 'heaviside'"),
    ("registers an empty name", hook(MEM, "register('', ExactMemory)"),
     f"{MEM}: a memory needs a non-empty string name, got ''"),
    ("registers a name that is not a string", hook(MEM, "register(7, ExactMemory)"),
     f"{MEM}: a memory needs a non-empty string name, got 7"),
    ("gives aliases as one string", hook(MEM, "register('tape', ExactMemory, aliases='tp')"),
     f"{MEM}: aliases of memory 'tape' must be a list of names, got str 'tp'"),
    ("repeats its own name as an alias", hook(MEM, "register('tape', ExactMemory, aliases=('tape',))"),
     f"{MEM}: memory 'tape' repeats a name in its aliases ('tape',)"),
    ("calls register with the wrong arguments", hook(MEM, "register(ExactMemory)"),
     f"{MEM}: register() takes (name, memory) but 1 was given"),
    ("gives an adapter a name argument", hook(ADA, "class Mine(Adapter):\n    name = 'mine'\nregister('mine', Mine())"),
     f"{ADA}: register() takes (adapter) but 2 were given"),
    ("catches a refusal and carries on",
     hook(MEM, "try:\n    register('exact', ExactMemory)\nexcept ValueError:\n    pass\nregister('tape', ExactMemory)"),
     f"{MEM}: memory 'exact' is already registered by plugin 'builtin'"),
    ("fails in one hook after another succeeded",
     hook(MEM, "register('tape', ExactMemory)") + hook(SUR, "raise KeyError('scale')"),
     f"{SUR} raised KeyError: 'scale'"),
    ("looks names up while plugins load",
     hook(MEM, "from fracneuron import plugins\nregister('tape', plugins.memories.get('exact'))"),
     f"{MEM} raised RuntimeError: a fracneuron registry was read while the plugins are loading"),
    ("wraps a register hook", hook(MEM, "register('tape', ExactMemory)\nyield", marker="@hookimpl(wrapper=True)"),
     f"{MEM} is a hook wrapper; fracneuron's register hooks take a plain @hookimpl"),
]


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """Install plugin sources as entry-point distributions; rebuild the plugin manager."""
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(plugins.BLOCK_ENV, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = []

    def install(entry_name, source):
        module = f"fracneuron_{entry_name}"
        make_distribution(tmp_path, module, module, source, entry_name)
        modules.append(module)
        importlib.invalidate_caches()
        plugins.reset_plugin_manager()
        return tmp_path

    yield install
    for module in modules:
        sys.modules.pop(module, None)
    plugins.reset_plugin_manager()


@pytest.mark.parametrize("source, told", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_a_broken_plugin_is_left_out_and_fracneuron_works(installed, capsys, source, told):
    installed("goodkit", GOOD_PLUGIN)
    installed("broken", HEADER + source)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        failures = plugins.plugin_failures()
        torch.manual_seed(0)
        lif = fn.LIFNeuron(tau=2.0, alpha=0.6)
        spikes = [lif(torch.full((3,), 3.0)) for _ in range(4)]
    # fracneuron works: a native neuron steps, built-ins and the good plugin are there
    assert torch.cat(spikes).sum() > 0
    assert plugins.memories.get("exact") is ExactMemory
    assert surrogate.get("arctan_surrogate")(torch.ones(1)).item() == 1.0
    assert plugins.memories.get("good_tape") is ExactMemory
    assert {"builtin", "goodkit"} <= set(plugins.plugin_sources())
    # the broken plugin is out as a whole, with its reason, and said once
    assert told in failures["broken"]
    assert "broken" not in plugins.plugin_sources()
    assert plugins.get_plugin_manager().get_plugin("broken") is None
    for registry in (plugins.adapters, plugins.memories, plugins.methods, plugins.surrogates):
        assert all(entry.plugin != "broken" for entry in registry)
    said = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning) and "'broken'" in str(w.message)]
    assert said == [f"fracneuron plugin 'broken' not loaded: {failures['broken']}"]
    # and `fracneuron plugins` lists it with the reason, exit 0
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert f"  broken           NOT LOADED: {failures['broken']}" in out.splitlines()
    assert "good_tape" in out
