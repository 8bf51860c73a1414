r"""The pieces the three framework models of :mod:`fracneuron.train.models` share.

* :class:`LeakyNeuron` / :func:`leaky_neuron` — the native fracneuron LIF,
  D^α v = −(v − v0)/τ + x (at α = 1: SpikingJelly's ``LIFNode(decay_input=False)``, snnTorch's
  ``Leaky(beta=1 − 1/τ)``).
* :class:`RecurrentLeaky` — the native recurrent spiking layer: the neuron's input at step n is
  x_n + V s_{n−1} + b (snnTorch's ``RLeaky(all_to_all=True)`` written with a fracneuron neuron).
* :class:`TemporalConv` — the conv model's front end: a causal 1-D convolution over time,
  ``[T, B, C_in] → [T, B, C_out]``; step n sees the inputs of steps n − k + 1 … n only, so the
  network still reads the sequence in time order. Plain torch, the same in every framework.
* :class:`MembraneReadout` — the non-spiking readout integrator v_n = β_r v_{n−1} + y_n
  (β_r = 1 − 1/τ_r, τ_r = ``READOUT_TAU`` = 2 whatever ``--tau``), logits = v_T,
  ``[T, B, K] → [B, K]``. Integer order and short-lived in every model: the memory a task needs
  must live in the spiking layers, not in the readout.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..neuron import BaseNeuron
from .config import AlphaSpec, TrainConfig

__all__ = ["LeakyNeuron", "leaky_neuron", "RecurrentLeaky", "TemporalConv", "MembraneReadout", "readout_head",
           "THRESHOLD", "SURROGATE_SCALE", "KERNEL", "READOUT_TAU"]

THRESHOLD = 1.0
SURROGATE_SCALE = 2.0
#: the conv front end's kernel length (time steps)
KERNEL = 7
#: the membrane readout's time constant (fixed: it reads the last few steps only)
READOUT_TAU = 2.0


class LeakyNeuron(BaseNeuron):
    r"""The LIF of the training models as a native fracneuron neuron:  D^α v = −(v − v0)/τ + x.

    At α = 1, h = 1: H = v + (x − (v − v0)/τ), SpikingJelly's ``LIFNode(decay_input=False)`` and
    snnTorch's ``Leaky(beta=1 − 1/τ)``.
    """

    def dv_dt(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x - (v - self.v_rest) / self.get_tau()


def leaky_neuron(tau: float, spec: AlphaSpec, config: TrainConfig, **overrides) -> LeakyNeuron:
    """A native :class:`LeakyNeuron` with the models' threshold, surrogate and reset."""
    options = dict(
        alpha=spec.kwarg(), learn_alpha=spec.learn, coefficients=config.coefficients,
        per_neuron_alpha=config.alpha_per_neuron, memory=config.memory_engine, memory_options=config.memory_options,
        step_mode="m",
    )
    options.update(overrides)
    return LeakyNeuron(
        tau=tau, threshold=THRESHOLD, surrogate_grad_scale=SURROGATE_SCALE, surrogate_opt="arctan",
        spk_reset="hard", v_reset=0.0, **options,
    )


class RecurrentLeaky(nn.Module):
    """A native recurrent spiking layer: ``[T, B, H] → [T, B, H]`` spikes, input x_n + V s_{n−1} + b."""

    def __init__(self, neuron: BaseNeuron, features: int) -> None:
        super().__init__()
        neuron.step_mode = "s"  # stepped here, one step at a time
        self.neuron = neuron
        self.recurrent = nn.Linear(features, features)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        self.neuron.reset()  # a new sequence
        spikes = torch.zeros_like(x_seq[0])
        out = []
        for x in x_seq:
            spikes = self.neuron(x + self.recurrent(spikes))
            out.append(spikes)
        return torch.stack(out)


class TemporalConv(nn.Module):
    """Causal convolution over time: ``[T, B, C_in] → [T, B, C_out]`` (left zero padding)."""

    def __init__(self, channels_in: int, channels_out: int, kernel: int = KERNEL) -> None:
        super().__init__()
        self.kernel = kernel
        self.conv = nn.Conv1d(channels_in, channels_out, kernel)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        x = x_seq.permute(1, 2, 0)  # [B, C, T]
        y = self.conv(F.pad(x, (self.kernel - 1, 0)))
        return y.permute(2, 0, 1)

    def extra_repr(self) -> str:
        return f"causal, kernel {self.kernel}"


class MembraneReadout(nn.Module):
    """Non-spiking leaky integrator over time; its last membrane is the logits ``[B, K]``."""

    def __init__(self, tau: float) -> None:
        super().__init__()
        self.beta = 1.0 - 1.0 / tau

    def forward(self, y_seq: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(y_seq[0])
        for y in y_seq:
            v = self.beta * v + y
        return v


class _MeanReadout(nn.Module):
    def forward(self, y_seq: torch.Tensor) -> torch.Tensor:
        return y_seq.mean(0)


def readout_head(config: TrainConfig) -> nn.Module:
    """``[T, B, K] → [B, K]``: the mean over time, or the membrane readout's last potential."""
    return MembraneReadout(READOUT_TAU) if config.readout_kind == "membrane" else _MeanReadout()
