r"""The delayed-cue recall task: remember which of C cues was shown, across D steps of noise.

One sample is a sequence of ``CUE_STEPS + D + GO_STEPS`` steps with ``C + 1`` input channels:

=============  ===========================  ==========================================
steps          channels 0 … C−1 (the cues)  channel C (go)
=============  ===========================  ==========================================
0 … 4          one-hot: cue c held at 1     0
5 … 5+D−1      Gaussian distractor noise,   0
               zero mean, std ``NOISE``
last 5         0                            1 (the go signal: answer now)
=============  ===========================  ==========================================

The label is c. The cue is visible only at the start, so a network that answers at the go signal
(the membrane readout of :mod:`fracneuron.train.models`, which forgets within a few steps) must
carry the cue through the D noisy steps in its neurons' state. A LIF neuron with τ = 2 keeps
2^{-n} of a pulse after n steps (forgotten in tens of steps); a fractional neuron keeps a power
law ~ n^{-α}.

:func:`make` is a pure function of its arguments: the same ``seed`` gives the same samples
(its own ``torch.Generator``, never the global one).
"""

from __future__ import annotations

import torch

__all__ = ["make", "CUE_STEPS", "GO_STEPS", "NOISE", "length"]

CUE_STEPS = 5
GO_STEPS = 5
#: std of the distractor noise on the cue channels during the delay
NOISE = 0.5


def length(delay: int) -> int:
    """Steps per sample for a delay of ``delay`` steps."""
    return CUE_STEPS + delay + GO_STEPS


def make(n: int, delay: int, cues: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` samples: inputs float32 ``[n, T·(cues+1)]`` (step-major: step t holds the cues+1
    channels ``t·(cues+1) … (t+1)·(cues+1)−1``) and labels int64 ``[n]``, balanced over the cues."""
    generator = torch.Generator().manual_seed(seed)
    steps, channels = length(delay), cues + 1
    labels = torch.arange(n) % cues  # balanced, then shuffled
    labels = labels[torch.randperm(n, generator=generator)]
    x = torch.zeros(n, steps, channels)
    x[torch.arange(n), :CUE_STEPS, labels] = 1.0
    x[:, CUE_STEPS : CUE_STEPS + delay, :cues] = NOISE * torch.randn(n, delay, cues, generator=generator)
    x[:, CUE_STEPS + delay :, cues] = 1.0
    return x.reshape(n, steps * channels).contiguous(), labels.to(torch.int64)
