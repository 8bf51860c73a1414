r"""One spiking network, written three times: as SpikingJelly, snnTorch and fracneuron users write it.

Architectures (``--model``; identical in every framework up to the recurrent connection, same
initial weights for a seed)::

    mlp        x [T, B, inputs] → Linear → LIF → (Linear → LIF) × (layers − 1) → Linear → readout
    recurrent  as mlp, each LIF a recurrent spiking layer (its spikes fed back one step later):
               SpikingJelly's LinearRecurrentContainer, snnTorch's RLeaky, fracneuron's RecurrentLeaky
    conv       as mlp, the first Linear a causal temporal convolution (kernel 7, see .layers)

and the readout (``--readout``) is the mean over T of the last Linear, or the membrane of a
non-spiking integrator at the last step (:class:`~fracneuron.train.layers.MembraneReadout`),
giving logits [B, classes]. Every LIF is the same neuron in all three frameworks:

    H_n = v_{n-1} − (v_{n-1} − 0)/τ + x_n   (= β v_{n-1} + x_n, β = 1 − 1/τ: snnTorch's ``Leaky``,
                                             SpikingJelly's ``LIFNode(decay_input=False)``)
    S_n = Θ(H_n − 1),  v_n = (1 − S_n) H_n  (hard reset to 0, applied at once, gradient through it)

with the arctan surrogate (scale 2) in the backward pass. At α = 1 the mlp and conv models
compute the same function in the three frameworks; fractional memory is added by
:func:`fracneuron.fractionalize` — one call on the ordinary SpikingJelly / snnTorch model, the
recurrent layers' neurons included — or, for the native model, by the neurons' own ``alpha``.
The recurrent feedback differs as each framework writes it: SpikingJelly's container mixes
[x_n; s_{n−1}] with one Linear(2H, H), snnTorch and the native layer add V s_{n−1} + b.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn

from ..neuron import BaseNeuron
from ..order import FractionalOrder
from .config import AlphaSpec, TrainConfig
from .data import MissingDependency
from .layers import (
    SURROGATE_SCALE, THRESHOLD, LeakyNeuron, RecurrentLeaky, TemporalConv, leaky_neuron, readout_head,
)

__all__ = ["build", "framework_check", "LeakyNeuron", "leaky_neuron", "parameter_count", "fractional_orders",
           "architecture", "first_current"]


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


def _synapse(config: TrainConfig, index: int, n_in: int, n_out: int, linear=nn.Linear) -> nn.Module:
    """The weights in front of spiking layer ``index``: the conv front end, or ``linear``."""
    if config.model == "conv" and index == 0:
        return TemporalConv(n_in, n_out)
    return linear(n_in, n_out)


def _fractionalize(model: nn.Module, config: TrainConfig, spec: AlphaSpec) -> nn.Module:
    """The one call a SpikingJelly or snnTorch user adds to their model (skipped for plain LIF)."""
    if spec.is_lif:
        return model
    import fracneuron

    return fracneuron.fractionalize(
        model,
        alpha=spec.kwarg(),
        memory=config.memory_engine,
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
    """A SpikingJelly multi-step network, as its tutorials write one."""

    def __init__(self, config: TrainConfig, inputs: int, classes: int) -> None:
        super().__init__()
        sj_layer = _framework("spikingjelly.activation_based.layer", "spikingjelly")
        sj_neuron = _framework("spikingjelly.activation_based.neuron", "spikingjelly")
        sj_surrogate = _framework("spikingjelly.activation_based.surrogate", "spikingjelly")
        sj_functional = _framework("spikingjelly.activation_based.functional", "spikingjelly")
        self._functional = sj_functional
        blocks: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(_widths(config, inputs)):
            blocks.append(_synapse(config, i, n_in, n_out, sj_layer.Linear))
            lif = sj_neuron.LIFNode(
                tau=float(config.tau), decay_input=False, v_threshold=THRESHOLD, v_reset=0.0,
                surrogate_function=sj_surrogate.ATan(alpha=SURROGATE_SCALE),
            )
            if config.model == "recurrent":  # the container steps its neuron one step at a time
                lif = sj_layer.LinearRecurrentContainer(lif, n_out, n_out, step_mode="m")
            blocks.append(lif)
        blocks.append(sj_layer.Linear(config.hidden, classes))
        self.net = nn.Sequential(*blocks)
        sj_functional.set_step_mode(self.net, "m")  # leaves the containers' neurons single-step
        self.readout = readout_head(config)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self._functional.reset_net(self.net)  # each sample is a new sequence
        return self.readout(self.net(x_seq))


def _spikingjelly(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    return _fractionalize(SpikingJellyNet(config, inputs, classes), config, config.alpha_spec)


# ---------------------------------------------------------------------- snnTorch
class SnnTorchNet(nn.Module):
    """An snnTorch network stepped in an explicit loop over time, as its tutorials write one
    (the conv front end, a whole-sequence layer, runs before the loop)."""

    def __init__(self, config: TrainConfig, inputs: int, classes: int) -> None:
        super().__init__()
        snn = _framework("snntorch", "snntorch")
        snn_surrogate = _framework("snntorch.surrogate", "snntorch")
        beta = 1.0 - 1.0 / config.tau
        common = dict(beta=beta, threshold=THRESHOLD, spike_grad=snn_surrogate.atan(alpha=SURROGATE_SCALE),
                      reset_mechanism="zero", reset_delay=False)
        self.front = TemporalConv(inputs, config.hidden) if config.model == "conv" else None
        self.recurrent = config.model == "recurrent"
        self.fc = nn.ModuleList()
        self.lif = nn.ModuleList()
        for i, (n_in, n_out) in enumerate(_widths(config, inputs)):
            self.fc.append(nn.Identity() if self.front is not None and i == 0 else nn.Linear(n_in, n_out))
            if self.recurrent:
                self.lif.append(snn.RLeaky(linear_features=n_out, all_to_all=True, **common))
            else:
                self.lif.append(snn.Leaky(**common))
        self.fc_out = nn.Linear(config.hidden, classes)
        self.readout = readout_head(config)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if self.front is not None:
            x_seq = self.front(x_seq)
        states = [lif.reset_mem() for lif in self.lif]  # a new sequence: fresh membranes (and spikes)
        outputs = []
        for x in x_seq:
            for i, (fc, lif) in enumerate(zip(self.fc, self.lif)):
                if self.recurrent:
                    x, mem = lif(fc(x), *states[i])
                    states[i] = (x, mem)
                else:
                    x, states[i] = lif(fc(x), states[i])
            outputs.append(self.fc_out(x))
        return self.readout(torch.stack(outputs))


def _snntorch(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    return _fractionalize(SnnTorchNet(config, inputs, classes), config, config.alpha_spec)


# ------------------------------------------------------------------------ native
class NativeNet(nn.Module):
    """The same network with fracneuron's own neurons (multi-step, stateful like SpikingJelly's)."""

    def __init__(self, config: TrainConfig, inputs: int, classes: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(_widths(config, inputs)):
            blocks.append(_synapse(config, i, n_in, n_out))
            neuron = leaky_neuron(config.tau, config.alpha_spec, config)
            blocks.append(RecurrentLeaky(neuron, n_out) if config.model == "recurrent" else neuron)
        blocks.append(nn.Linear(config.hidden, classes))
        self.net = nn.Sequential(*blocks)
        self.readout = readout_head(config)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        for module in self.net:
            if isinstance(module, BaseNeuron):
                module.reset()
        return self.readout(self.net(x_seq))


def _native(config: TrainConfig, inputs: int, classes: int) -> nn.Module:
    return NativeNet(config, inputs, classes)


# ------------------------------------------------------------------ inspection
def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def fractional_orders(model: nn.Module) -> list[FractionalOrder]:
    """The fractional order of each neuron layer, in layer order (empty for a plain LIF model)."""
    return [m for m in model.modules() if isinstance(m, FractionalOrder)]


def first_current(model: nn.Module, x_seq: torch.Tensor) -> torch.Tensor:
    """The input current ``[T, B, hidden]`` of the first spiking layer (without recurrence)."""
    first = next(m for m in model.modules() if isinstance(m, (nn.Linear, TemporalConv)))
    if isinstance(first, TemporalConv):
        return first(x_seq)
    return nn.functional.linear(x_seq.to(first.weight), first.weight, first.bias)


def architecture(config: TrainConfig, inputs: int, classes: int) -> str:
    """``Linear(1,128)-LIF-Linear(128,128)-LIF-Linear(128,10), mean over T``."""
    neuron = "RLIF" if config.model == "recurrent" else "LIF"
    parts = []
    for i, (a, b) in enumerate(_widths(config, inputs)):
        synapse = f"CausalConv({a},{b},k7)" if config.model == "conv" and i == 0 else f"Linear({a},{b})"
        parts.append(f"{synapse}-{neuron}")
    readout = "membrane readout" if config.readout_kind == "membrane" else "mean over T"
    return "-".join(parts + [f"Linear({config.hidden},{classes})"]) + f", {readout}"
