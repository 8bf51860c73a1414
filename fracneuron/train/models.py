r"""One spiking network, written three times: as SpikingJelly, snnTorch and fracneuron users write it.

Architecture (identical in every framework, same parameter count, same initial weights for a
seed)::

    x [T, B, inputs] → Linear → LIF → (Linear → LIF) × (layers − 1) → Linear → mean over T → logits [B, classes]

The readout averages the last linear layer over time (a membrane-style readout of the last
spiking layer). Every LIF is the same neuron in all three frameworks:

    H_n = v_{n-1} − (v_{n-1} − 0)/τ + x_n   (= β v_{n-1} + x_n, β = 1 − 1/τ: snnTorch's ``Leaky``,
                                             SpikingJelly's ``LIFNode(decay_input=False)``)
    S_n = Θ(H_n − 1),  v_n = (1 − S_n) H_n  (hard reset to 0, applied at once, gradient through it)

with the arctan surrogate (scale 2) in the backward pass. At α = 1 the three models compute the
same function; fractional memory is added by :func:`fracneuron.fractionalize` — one call on the
ordinary SpikingJelly / snnTorch model — or, for the native model, by the neurons' own ``alpha``.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn

from ..neuron import BaseNeuron
from ..order import FractionalOrder
from .config import AlphaSpec, TrainConfig
from .data import MissingDependency

__all__ = ["build", "framework_check", "LeakyNeuron", "parameter_count", "fractional_orders", "architecture"]

THRESHOLD = 1.0
SURROGATE_SCALE = 2.0


def build(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    """The network of ``config.framework`` with ``config``'s fractional order, seeded init.

    The initial weights depend only on ``config.seed`` (the same in every framework).
    """
    builders = {"spikingjelly": _spikingjelly, "snntorch": _snntorch, "native": _native}
    torch.manual_seed(config.seed)
    return builders[config.framework](config, inputs, classes)


def _widths(config: TrainConfig, inputs: int) -> list[tuple[int, int]]:
    """(in, out) of each spiking layer's Linear."""
    return [(inputs if i == 0 else config.hidden, config.hidden) for i in range(config.layers)]


def _fractionalize(model: nn.Module, config: TrainConfig, spec: AlphaSpec) -> nn.Module:
    """The one call a SpikingJelly or snnTorch user adds to their model (skipped for plain LIF)."""
    if spec.is_lif:
        return model
    import fracneuron

    return fracneuron.fractionalize(
        model,
        alpha=spec.kwarg(),
        memory=config.memory,
        learn_alpha=spec.learn,
        coefficients=config.coefficients,
        per_neuron=config.alpha_per_neuron,
        memory_options=config.memory_options,
    )


def _framework(module: str, framework: str):
    """Import a framework module, or say what to install (one line)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        from ..plugins import adapters

        hint = adapters.get(framework).install_hint if framework in adapters else f"pip install {framework}"
        raise MissingDependency(f"--framework {framework} needs {framework}, which is not installed ({hint})") from None


def framework_check(framework: str) -> None:
    """Fail early (before loading data) when the framework is not installed."""
    if framework != "native":
        _framework(framework, framework)


# ------------------------------------------------------------------ SpikingJelly
class SpikingJellyNet(nn.Module):
    """A SpikingJelly multi-step MLP, as its tutorials write one."""

    def __init__(self, config: TrainConfig, inputs: int, classes: int) -> None:
        super().__init__()
        sj_layer = _framework("spikingjelly.activation_based.layer", "spikingjelly")
        sj_neuron = _framework("spikingjelly.activation_based.neuron", "spikingjelly")
        sj_surrogate = _framework("spikingjelly.activation_based.surrogate", "spikingjelly")
        sj_functional = _framework("spikingjelly.activation_based.functional", "spikingjelly")
        self._functional = sj_functional
        blocks: list[nn.Module] = []
        for n_in, n_out in _widths(config, inputs):
            blocks.append(sj_layer.Linear(n_in, n_out))
            blocks.append(
                sj_neuron.LIFNode(
                    tau=float(config.tau), decay_input=False, v_threshold=THRESHOLD, v_reset=0.0,
                    surrogate_function=sj_surrogate.ATan(alpha=SURROGATE_SCALE),
                )
            )
        blocks.append(sj_layer.Linear(config.hidden, classes))
        self.net = nn.Sequential(*blocks)
        sj_functional.set_step_mode(self.net, "m")

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._functional.reset_net(self.net)  # each sample is a new sequence
        return self.net(x_seq).mean(0)


def _spikingjelly(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    return _fractionalize(SpikingJellyNet(config, inputs, classes), config, config.alpha_spec)


# ---------------------------------------------------------------------- snnTorch
class SnnTorchNet(nn.Module):
    """An snnTorch MLP stepped in an explicit loop over time, as its tutorials write one."""

    def __init__(self, config: TrainConfig, inputs: int, classes: int) -> None:
        super().__init__()
        snn = _framework("snntorch", "snntorch")
        snn_surrogate = _framework("snntorch.surrogate", "snntorch")
        beta = 1.0 - 1.0 / config.tau
        self.fc = nn.ModuleList()
        self.lif = nn.ModuleList()
        for n_in, n_out in _widths(config, inputs):
            self.fc.append(nn.Linear(n_in, n_out))
            self.lif.append(
                snn.Leaky(
                    beta=beta, threshold=THRESHOLD, spike_grad=snn_surrogate.atan(alpha=SURROGATE_SCALE),
                    reset_mechanism="zero", reset_delay=False,
                )
            )
        self.readout = nn.Linear(config.hidden, classes)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        mems = [lif.reset_mem() for lif in self.lif]  # a new sequence: fresh membranes
        outputs = []
        for x in x_seq:
            for i, (fc, lif) in enumerate(zip(self.fc, self.lif)):
                x, mems[i] = lif(fc(x), mems[i])
            outputs.append(self.readout(x))
        return torch.stack(outputs).mean(0)


def _snntorch(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    return _fractionalize(SnnTorchNet(config, inputs, classes), config, config.alpha_spec)


# ------------------------------------------------------------------------ native
class LeakyNeuron(BaseNeuron):
    r"""The LIF of this module as a native fracneuron neuron:  D^α v = −(v − v0)/τ + x.

    At α = 1, h = 1: H = v + (x − (v − v0)/τ), SpikingJelly's ``LIFNode(decay_input=False)`` and
    snnTorch's ``Leaky(beta=1 − 1/τ)``.
    """

    def dv_dt(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x - (v - self.v_rest) / self.get_tau()


def leaky_neuron(tau: float, spec: AlphaSpec, config: TrainConfig, **overrides) -> LeakyNeuron:
    """A native :class:`LeakyNeuron` with this module's threshold, surrogate and reset."""
    options = dict(
        alpha=spec.kwarg(), learn_alpha=spec.learn, coefficients=config.coefficients,
        per_neuron_alpha=config.alpha_per_neuron, memory=config.memory, memory_options=config.memory_options,
    )
    options.update(overrides)
    return LeakyNeuron(
        tau=tau, threshold=THRESHOLD, surrogate_grad_scale=SURROGATE_SCALE, surrogate_opt="arctan",
        spk_reset="hard", v_reset=0.0, step_mode="m", **options,
    )


class NativeNet(nn.Module):
    """The same MLP with fracneuron's own neurons (multi-step, stateful like SpikingJelly's)."""

    def __init__(self, config: TrainConfig, inputs: int, classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for n_in, n_out in _widths(config, inputs):
            blocks.append(nn.Linear(n_in, n_out))
            blocks.append(leaky_neuron(config.tau, config.alpha_spec, config))
        blocks.append(nn.Linear(config.hidden, classes))
        self.net = nn.Sequential(*blocks)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        for module in self.net:
            if isinstance(module, BaseNeuron):
                module.reset()
        return self.net(x_seq).mean(0)


def _native(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    return NativeNet(config, inputs, classes)


# ------------------------------------------------------------------ inspection
def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def fractional_orders(model: nn.Module) -> list[FractionalOrder]:
    """The fractional order of each neuron layer, in layer order (empty for a plain LIF model)."""
    return [m for m in model.modules() if isinstance(m, FractionalOrder)]


def architecture(config: TrainConfig, inputs: int, classes: int) -> str:
    """``Linear(1,128)-LIF-Linear(128,128)-LIF-Linear(128,10)``."""
    parts = [f"Linear({a},{b})-LIF" for a, b in _widths(config, inputs)]
    return "-".join(parts + [f"Linear({config.hidden},{classes})"]) + ", mean over T"
