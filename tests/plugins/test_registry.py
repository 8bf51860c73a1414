"""fracneuron.plugins.registry: a registry whose loader fails stays unloaded; direct registrations are
checked like a plugin's; duplicate names are refused; unknown names list the choices."""

import pytest

from fracneuron import plugins
from fracneuron.memory.exact import ExactMemory
from fracneuron.plugins import MEMORIES, Registry
from fracneuron.plugins.registry import Table


def test_a_registry_whose_loader_fails_stays_unloaded():
    attempts = []

    def loader():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("not yet")
        return Table().adding(MEMORIES.entry("tape", ExactMemory, "test"), "memory")

    registry = Registry(MEMORIES, loader)
    with pytest.raises(OSError, match="not yet"):
        registry.get("tape")
    assert registry.get("tape") is ExactMemory
    assert registry.names() == ["tape"] and len(attempts) == 2  # loaded once it worked, then kept


def test_direct_registrations_are_checked_like_a_plugins(fresh_plugins):
    with pytest.raises(ValueError, match=r"memory 'tape' must be callable"):
        plugins.memories.add("tape", 3, "someone")
    with pytest.raises(ValueError, match=r"adapter 'mine' must be a fracneuron.adapter.Adapter instance"):
        plugins.adapters.add("mine", "adapter", "someone")
    assert "tape" not in plugins.memories and "mine" not in plugins.adapters


def test_duplicate_names_are_refused(fresh_plugins):
    with pytest.raises(ValueError, match="memory 'exact' is already registered by plugin 'builtin'"):
        plugins.memories.add("exact", object, "someone")


def test_unknown_names_list_the_choices(fresh_plugins):
    with pytest.raises(ValueError, match=r"unknown method 'rk45'; choose one of"):
        plugins.methods.get("rk45")
