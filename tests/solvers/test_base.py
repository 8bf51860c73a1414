"""fracneuron.solvers.base: the fdeint methods are registered plugins, and a new FractionalMethod extends them."""

from __future__ import annotations

import pytest
import torch

import fracneuron as fn
from fracneuron import plugins
from fracneuron.solvers import FractionalMethod, ProductRectangle


F64 = torch.float64

pytestmark = pytest.mark.usefixtures("single_thread")


# ----------------------------------------------------------------------------- plugins and bad input
def test_methods_are_registered_plugins_and_extensible():
    assert {"gl", "l1", "pred", "abm", "trap"} <= set(plugins.methods.names())
    assert plugins.methods.get("glmulti") is plugins.methods.get("gl")

    class HalfStepRectangle(ProductRectangle):  # a third party's variant, registered by name
        name = "my-rect"

    plugins.methods.add("my-rect", HalfStepRectangle, plugin="test")
    try:
        t = torch.linspace(0, 1, 11, dtype=F64)
        y = fn.fdeint(lambda t, y: -y, torch.ones(1, dtype=F64), t, 0.5, "my-rect")
        assert torch.equal(y, fn.fdeint(lambda t, y: -y, torch.ones(1, dtype=F64), t, 0.5, "pred"))
        assert issubclass(plugins.methods.get("my-rect"), FractionalMethod)
    finally:
        plugins.methods.reload()
