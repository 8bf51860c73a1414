r"""The SLAYER surrogate gradient (Shrestha & Orchard, 2018) as a fracneuron spike function.

    forward:   S(x) = 1 if x >= 0 else 0               (x = v − threshold)
    backward:  dS/dx ≈ (k/2) · exp(−k |x|)             (the Laplace density: unit area)

k is the sharpness (``scale``; default 5). Registered as ``"slayer"`` (alias ``"laplace"``) by
:mod:`fracneuron_slayer.plugin`.
"""

from __future__ import annotations

import torch
from fracneuron.surrogate import SpikeFunction

__all__ = ["DEFAULT_SCALE", "slayer", "slayer_derivative"]

DEFAULT_SCALE = 5.0


def slayer_derivative(x: torch.Tensor, k: float) -> torch.Tensor:
    """(k/2) · exp(−k|x|): the surrogate derivative of the spike at ``x = v − threshold``."""
    return 0.5 * k * torch.exp(-k * x.abs())


def slayer(scale: float | None = None) -> SpikeFunction:
    """The spike function with sharpness ``scale`` (the factory fracneuron calls by name).

    ``SpikeFunction`` does the Heaviside forward and checks the scale; a module-level derivative
    keeps models that use it picklable.
    """
    return SpikeFunction("slayer", slayer_derivative, DEFAULT_SCALE if scale is None else scale)
