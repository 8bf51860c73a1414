"""fracneuron.plugins.manager: built-ins through the hooks, a third-party plugin found through an entry
point (a generated dist-info on sys.path), autoload switch, blocking, broken plugins, loading from
many threads at once. The registries are tested in test_registry.py, the ``fracneuron plugins``
command in tests/test_cli.py; what a plugin may not do is listed in tests/test_bad_input_plugins.py."""

import importlib
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import fracneuron as fn
from fracneuron import plugins, surrogate
from fracneuron.memory.exact import ExactMemory
from fracneuron.plugins import manager

from distributions import make_distribution


THIRD_PARTY = textwrap.dedent(
    """
    import torch
    from fracneuron.memory import MemoryEngine
    from fracneuron.plugins import hookimpl


    class LastStateMemory(MemoryEngine):
        '''Remembers one step: c_n = -omega_1 u_{n-1} (a one-term window).'''

        name = "last_state"

        def __init__(self, scale=1.0):
            self.scale = scale
            self._n = 0
            self._shape = None

        def correction(self, u_prev, order):
            self.check_shape(u_prev)
            self._shape = u_prev.shape
            self._n += 1
            w, _ = order.gl(1, u_prev.dtype, u_prev.device)
            return -(w[1] + 1.0) * u_prev * self.scale

        def reset(self):
            self._n, self._shape = 0, None

        def detach(self):
            pass

        def apply(self, fn):
            pass

        @property
        def steps(self):
            return self._n

        @property
        def state_shape(self):
            return self._shape


    def stepwise_derivative(x, k):
        return k * (x.abs() < 1).to(x.dtype)


    @hookimpl
    def fracneuron_register_memories(register):
        register("last_state", LastStateMemory)


    @hookimpl
    def fracneuron_register_surrogates(register):
        from fracneuron.surrogate import SpikeFunction
        register("stepwise", lambda scale=None: SpikeFunction("stepwise", stepwise_derivative, scale or 0.5))
    """
)


@pytest.fixture
def third_party(tmp_path, monkeypatch, fresh_plugins):
    make_distribution(tmp_path, "fracneuron_lastkit", "fracneuron_lastkit", THIRD_PARTY, "lastkit")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    plugins.reset_plugin_manager()
    yield
    sys.modules.pop("fracneuron_lastkit", None)


def test_builtins_are_registered_through_the_hooks(fresh_plugins):
    assert {"exact", "window"} <= set(plugins.memories.names())
    assert plugins.memories.entry("exact").plugin == "builtin"
    assert plugins.surrogates.entry("arctan_surrogate").name == "arctan"
    assert {"spikingjelly", "snntorch"} <= {e.name for e in plugins.adapters}
    assert plugins.plugin_sources()["builtin"] == "default plugin"


def test_third_party_plugin_is_discovered_and_usable_by_name(third_party):
    assert "last_state" in plugins.memories.names()
    assert plugins.memories.entry("last_state").plugin == "lastkit"
    assert plugins.plugin_sources()["lastkit"].startswith("entry point (fracneuron_lastkit 0.1)")
    mem = fn.FractionalMemory(0.5, "last_state", memory_options={"scale": 1.0})
    c = mem.engine.correction(torch.ones(2), mem.order)
    torch.testing.assert_close(c, torch.full((2,), -0.5))  # -(1 - α) u
    spike = surrogate.get("stepwise")
    x = torch.tensor([0.5, 2.0], requires_grad=True)
    assert torch.equal(spike(x), torch.ones(2))
    (g,) = torch.autograd.grad(spike(x).sum(), x)
    assert torch.equal(g, torch.tensor([0.5, 0.0]))


def test_autoload_can_be_disabled(third_party, monkeypatch):
    monkeypatch.setenv(plugins.DISABLE_AUTOLOAD_ENV, "1")
    plugins.reset_plugin_manager()
    assert "last_state" not in plugins.memories.names()
    assert "exact" in plugins.memories.names()  # default plugins stay


def test_plugins_can_be_blocked_by_name(third_party, monkeypatch):
    monkeypatch.setenv(plugins.BLOCK_ENV, "lastkit, snntorch")
    plugins.reset_plugin_manager()
    assert "last_state" not in plugins.memories.names()
    assert "snntorch" not in {e.name for e in plugins.adapters}
    assert "spikingjelly" in {e.name for e in plugins.adapters}


COUNTING_PLUGIN = textwrap.dedent(
    """
    from fracneuron.memory.exact import ExactMemory
    from fracneuron.plugins import hookimpl

    CALLS = []


    @hookimpl
    def fracneuron_register_memories(register):
        CALLS.append(1)
        register("counted", ExactMemory)
    """
)


def test_first_use_from_many_threads_at_once_loads_once(tmp_path, monkeypatch, fresh_plugins):
    # issue 11 item 14: the registry said "loaded" before its hooks had run, so the other threads
    # found it empty ("unknown surrogate 'arctan_surrogate'; choose one of ")
    make_distribution(tmp_path, "fracneuron_counting", "fracneuron_counting", COUNTING_PLUGIN, "counting")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    n = 8
    barrier = threading.Barrier(n)

    def first_use(_):
        barrier.wait()  # all threads reach their first lookup together
        lif = fn.LIFNeuron(tau=2.0, alpha=0.6)
        spikes = lif(torch.full((3,), 3.0))
        return spikes, surrogate.get("arctan_surrogate"), plugins.memories.get("counted")

    try:
        with ThreadPoolExecutor(n) as pool:
            for _ in range(5):
                sys.modules.pop("fracneuron_counting", None)  # a fresh CALLS each round
                plugins.reset_plugin_manager()
                results = list(pool.map(first_use, range(n)))  # re-raises a thread's error
                assert [r[2] for r in results] == [ExactMemory] * n
                assert all(torch.equal(r[0], results[0][0]) for r in results)
                assert sys.modules["fracneuron_counting"].CALLS == [1]  # the hooks ran once
    finally:
        sys.modules.pop("fracneuron_counting", None)


FLAKY_DEFAULT_PLUGIN = textwrap.dedent(
    """
    from fracneuron.memory.exact import ExactMemory
    from fracneuron.plugins import hookimpl

    DISK_READY = [False]


    @hookimpl
    def fracneuron_register_memories(register):
        if not DISK_READY[0]:
            raise OSError("disk not ready")
        register("flaky", ExactMemory)
    """
)


def test_a_failed_load_leaves_the_registries_unloaded_and_the_next_lookup_retries(tmp_path, monkeypatch, fresh_plugins):
    # a default plugin (fracneuron's own) failing is a bug in fracneuron: it raises, every time,
    # and no registry is left empty or half-loaded; once the cause is gone the next lookup works
    (tmp_path / "fracneuron_flaky.py").write_text(FLAKY_DEFAULT_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(manager.DEFAULT_PLUGINS, "flaky", "fracneuron_flaky")
    plugins.reset_plugin_manager()
    told = "default plugin 'flaky' failed to register: fracneuron_register_memories raised OSError: disk not ready"
    try:
        for lookup in (lambda: surrogate.get("arctan"), plugins.memories.names, lambda: plugins.methods.get("gl")):
            with pytest.raises(RuntimeError, match=told):
                lookup()
        sys.modules["fracneuron_flaky"].DISK_READY[0] = True
        assert plugins.memories.get("flaky") is ExactMemory
        assert plugins.surrogates.entry("arctan_surrogate").name == "arctan"
        assert plugins.plugin_sources()["flaky"] == "default plugin"
    finally:
        sys.modules.pop("fracneuron_flaky", None)


def test_manager_constants():
    assert manager.ENTRY_POINT_GROUP == "fracneuron"
    assert set(manager.DEFAULT_PLUGINS) == {"builtin", "spikingjelly", "snntorch"}
