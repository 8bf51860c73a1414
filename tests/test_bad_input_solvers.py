"""What users may not pass to fdeint, fdeint_adjoint, odeint and SNNWrapper, and what they are told.

One row per misuse: the call, the error type and the words of the message, which names the
argument and what is allowed. The time grid rows include float32/float16 grids that are not
uniform beyond their own rounding (issue 11 item 10), and an input without time steps (item 11).
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn

import fracneuron as fn
from fracneuron.neuron import LIFNeuron


def _fdeint(**changes):
    call = {"func": lambda t, y: -y, "y0": torch.ones(2), "t": torch.linspace(0, 1, 5), "alpha": 0.5, "method": "gl", "options": None}
    call.update(changes)
    return lambda: fn.fdeint(call["func"], call["y0"], call["t"], call["alpha"], call["method"], call["options"])


def _grid(base, steps, dtype):
    """Times base, base + steps[0], … in ``dtype``."""
    return (base + torch.cumsum(torch.tensor([0.0, *steps], dtype=torch.float64), 0)).to(dtype)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.lif1 = LIFNeuron(2.0)
        self.fc2 = nn.Linear(12, 4)
        self.lif2 = LIFNeuron(2.0)

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


def _wrapper(build=None, t=None, method="gl", options=None, x=None):
    def call():
        model = fn.SNNWrapper(MLP(), **(build or {}))
        steps = torch.rand(6, 3, 6) if x is None else x
        return model(steps, torch.arange(6.0) if t is None else t, method=method, options=options)

    return call


#: id -> (what the user does, the error, the words of the message)
REFUSED = {
    # --------------------------------------------------------------------------- fdeint
    "fdeint: an unknown method": (_fdeint(method="euler"), ValueError, "unknown method 'euler'"),
    "fdeint: alpha 0": (_fdeint(alpha=0.0), ValueError, r"alpha must be in \(0, 1\]"),
    "fdeint: alpha above 1": (_fdeint(alpha=1.5), ValueError, r"alpha must be in \(0, 1\]"),
    "fdeint: a tensor alpha out of range": (_fdeint(alpha=torch.tensor([0.5, 1.2])), ValueError, r"alpha must be in \(0, 1\]"),
    "fdeint: coefficients of the wrong length": (
        _fdeint(alpha=[0.3, 0.6], options={"coefficients": [1.0]}), ValueError, "one entry per alpha term",
    ),
    "fdeint: multi-term alpha with a single-term method": (_fdeint(alpha=[0.3, 0.6], method="trap"), ValueError, "single-term"),
    "fdeint: a decreasing grid": (_fdeint(t=torch.tensor([0.0, 0.2, 0.1])), ValueError, "strictly increasing"),
    "fdeint: a non-uniform grid": (_fdeint(t=torch.tensor([0.0, 0.1, 0.3])), ValueError, "uniform grid"),
    "fdeint: a float32 grid with steps 0.9/1.1 at t = 1e5": (
        _fdeint(t=_grid(1e5, [0.9, 1.1, 0.9, 1.1, 0.9], torch.float32)), ValueError, r"uniform grid \(steps from 0\.89",
    ),
    "fdeint: a float16 grid with steps 0.8/1.2 at t = 100": (
        _fdeint(t=_grid(100.0, [0.8, 1.2, 0.8, 1.2], torch.float16)), ValueError, r"uniform grid \(steps from 0\.81",
    ),
    "fdeint: a 2-D grid": (_fdeint(t=torch.zeros(2, 2)), ValueError, "1-D"),
    "fdeint: an empty grid": (_fdeint(t=torch.zeros(0)), ValueError, "non-empty 1-D tensor of times"),
    "fdeint: a grid with inf": (_fdeint(t=torch.tensor([0.0, float("inf")])), ValueError, "finite times"),
    "fdeint: an unknown option": (_fdeint(options={"memry": -1}), ValueError, "unknown option"),
    "fdeint: memory 0": (_fdeint(options={"memory": 0}), ValueError, "memory must be -1"),
    "fdeint: an unknown memory": (_fdeint(options={"memory": "soe-not-here"}), ValueError, "unknown memory"),
    "fdeint: an engine for a method with its own history": (
        _fdeint(method="trap", options={"memory": "soe"}), ValueError, "keeps its own history",
    ),
    "fdeint: a linear part for an explicit method": (_fdeint(method="pred", options={"linear": 1.0}), ValueError, "explicit"),
    "fdeint: a linear part of the wrong shape": (_fdeint(options={"linear": torch.ones(5)}), ValueError, "broadcast"),
    "fdeint: func returning another shape": (_fdeint(func=lambda t, y: y.sum()), ValueError, "must return a tensor of y's shape"),
    "fdeint: func not callable": (_fdeint(func=3), TypeError, "func must be callable"),
    "fdeint: an integer y0": (_fdeint(y0=torch.ones(2, dtype=torch.long)), TypeError, "floating-point"),
    "fdeint: no corrector": (_fdeint(method="abm", options={"corrector_iters": 0}), ValueError, "corrector_iters"),
    "fdeint: a stiff implicit step without its linear part": (
        _fdeint(func=lambda t, y: -50 * y, y0=torch.ones(1, dtype=torch.float64), t=torch.linspace(0, 1, 3, dtype=torch.float64),
                alpha=0.9, method="trap"),
        RuntimeError, "linear",
    ),
    "fdeint_adjoint: alpha above 1": (
        lambda: fn.fdeint_adjoint(lambda t, y: -y, torch.ones(2), torch.linspace(0, 1, 5), 1.5), ValueError, r"alpha must be in \(0, 1\]",
    ),
    # --------------------------------------------------------------------------- odeint
    "odeint: an unknown method": (
        lambda: fn.odeint(lambda t, y: y, torch.ones(1), torch.linspace(0, 1, 3), "dopri5"), ValueError, "unknown odeint method",
    ),
    "odeint: a grid that does not increase": (
        lambda: fn.odeint(lambda t, y: y, torch.ones(1), torch.tensor([0.0, 0.0]), "euler"), ValueError, "strictly increasing",
    ),
    # ------------------------------------------------------------------------ SNNWrapper
    "SNNWrapper: an unknown integrator": (_wrapper({"integrator": "rk45"}), ValueError, "unknown integrator"),
    "SNNWrapper: alpha above 1": (_wrapper({"alpha": 1.2}), ValueError, r"alpha must be in \(0, 1\]"),
    "SNNWrapper: coefficients of the wrong length": (
        _wrapper({"alpha": [0.5, 0.5], "multi_coefficient": [1.0, 2.0, 3.0]}), ValueError, "one entry per alpha term",
    ),
    "SNNWrapper: per-layer alphas of the wrong count": (
        _wrapper({"alpha": [0.5, 0.6, 0.7], "alpha_mode": "per_layer"}), ValueError, "one alpha per neuron layer",
    ),
    "SNNWrapper: learn_alpha flags of the wrong count": (_wrapper({"learn_alpha": [True]}), ValueError, "one per neuron layer"),
    "SNNWrapper: a nested alpha of the wrong count": (_wrapper({"alpha": [[0.5], 0.6, 0.7]}), ValueError, "one entry per neuron layer"),
    "SNNWrapper: an unknown method": (_wrapper(method="nope"), ValueError, "unknown method 'nope'"),
    "SNNWrapper: an integer-order method with fdeint": (_wrapper(method="rk4"), ValueError, "integer order"),
    "SNNWrapper: multi-term alpha with a single-term method": (
        _wrapper({"alpha": [0.3, 0.5], "alpha_mode": "multiterm"}, method="trap"), ValueError, "single-term",
    ),
    "SNNWrapper: t of another length": (_wrapper(t=torch.arange(8.0)), ValueError, "one time per input step"),
    "SNNWrapper: t not increasing": (_wrapper(t=torch.tensor([0.0, 1, 2, 3, 2, 5])), ValueError, "strictly increasing"),
    "SNNWrapper: t not uniform": (_wrapper(t=torch.tensor([0.0, 1, 2, 3, 4.5, 5])), ValueError, "uniform"),
    "SNNWrapper: a float32 t not uniform at t = 1e5": (
        _wrapper(t=_grid(1e5, [0.9, 1.1, 0.9, 1.1, 0.9], torch.float32)), ValueError, "uniform grid",
    ),
    "SNNWrapper: a step_size that is not a number": (_wrapper(options={"step_size": "1"}), ValueError, "step_size'\\] must be a number > 0"),
    "SNNWrapper: an unknown option": (_wrapper(options={"memry": 3}), ValueError, "unknown option"),
    "SNNWrapper: options not a dict": (_wrapper(options=[("memory", -1)]), TypeError, "options must be a dict"),
    "SNNWrapper: no time steps": (_wrapper(x=torch.rand(0, 3, 6), t=torch.zeros(1)), ValueError, "x has no time steps"),
    "SNNWrapper: x without a time axis": (_wrapper(x=torch.rand(6), t=torch.arange(6.0)), ValueError, r"\[T, B, \.\.\.\]"),
    "SNNWrapper: a network without fracneuron neurons": (lambda: fn.SNNWrapper(nn.Linear(3, 3)), ValueError, "no fracneuron neuron"),
    "SNNWrapper: not a module": (lambda: fn.SNNWrapper(lambda x: x), TypeError, "base must be an nn.Module"),
    "SNNWrapper: layer_by_layer not a bool": (
        _wrapper({"layer_by_layer": "yes"}), TypeError, "layer_by_layer must be True or False, got 'yes'"),
}


@pytest.mark.parametrize("action, error, message", REFUSED.values(), ids=REFUSED.keys())
def test_users_are_told_what_is_wrong(action, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the wrapper announces how it read a flat alpha list
        with pytest.raises(error, match=message):
            action()


@pytest.mark.parametrize(
    "t",
    [
        torch.linspace(1e5, 1e5 + 100, 101),  # float32 at 1e5: steps of 1 are exact
        torch.arange(0, 1000, 0.1),  # float32 arange, 10,000 points
        torch.linspace(0, 10, 101, dtype=torch.float16),
        torch.linspace(0, 1, 101, dtype=torch.bfloat16),
        torch.linspace(0.0, 1.0, 10001, dtype=torch.float64),
    ],
    ids=["float32 at 1e5", "float32 arange", "float16", "bfloat16", "float64"],
)
def test_uniform_grids_in_low_precision_are_accepted(t):
    """A grid that is uniform up to its own rounding is uniform (its spacing is the step)."""
    from fracneuron.solvers.inputs import uniform_step

    h = uniform_step(t)
    assert h == pytest.approx(float(t[-1].double() - t[0].double()) / (t.numel() - 1), rel=1e-12)
