import pytest
import torch

from fracneuron import plugins


@pytest.fixture(scope="module")
def single_thread():
    """One torch thread for a test module: on tiny states thread hand-offs cost more than they
    save, and a loaded 2-core machine makes them slow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Rebuild the plugin manager for the test and again afterwards."""
    monkeypatch.delenv(plugins.DISABLE_AUTOLOAD_ENV, raising=False)
    monkeypatch.delenv(plugins.BLOCK_ENV, raising=False)
    plugins.reset_plugin_manager()
    yield
    plugins.reset_plugin_manager()
