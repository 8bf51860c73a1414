import pytest
import torch


@pytest.fixture(scope="module")
def single_thread():
    """One torch thread for a test module: on tiny states thread hand-offs cost more than they
    save, and a loaded 2-core machine makes them slow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
