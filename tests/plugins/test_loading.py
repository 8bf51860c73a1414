"""fracneuron.plugins.loading: a plugin whose hook raises is left out as a whole and reported, not fatal
(the full table of what a plugin may not do is tests/test_bad_input_plugins.py)."""

import importlib

import pytest

from fracneuron import plugins

from distributions import make_distribution


def test_a_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch, fresh_plugins):
    make_distribution(tmp_path, "fracneuron_broken", "fracneuron_broken", "raise ImportError('needs libfoo')\n", "broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    plugins.reset_plugin_manager()
    with pytest.warns(RuntimeWarning, match="'broken' not loaded: failed to load from fracneuron_broken 0.1"):
        names = plugins.memories.names()
    assert "exact" in names
    assert "needs libfoo" in plugins.plugin_failures()["broken"]
