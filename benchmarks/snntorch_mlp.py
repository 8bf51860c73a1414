"""The MLP case of ``benchmarks/snntorch.py``: an snnTorch explicit-loop network, one fwd+bwd.

MLP 784-512-512-10 with ``snn.Leaky(beta=0.9)`` after each linear layer (default init, weights
×3), batch B = 32, input a Bernoulli(0.2) spike train [T, B, 784], loss = cross-entropy of the
output spike counts. Variants:

* ``native``:  snnTorch's Leaky, untouched;
* ``alpha=1``: ``fracneuron.fractionalize(net, alpha=1.0)`` (the wrapper's overhead; bit-exact);
* ``exact``:   α = 0.6, full GL history;
* ``window``:  α = 0.6, last L = 32 states.

(Kept apart from ``snntorch.py``, whose file name would shadow the snnTorch package on import.)
"""

from __future__ import annotations

import os
import sys

VARIANTS = {
    "native": None,
    "alpha=1": dict(alpha=1.0),
    "exact": dict(alpha=0.6, memory="exact"),
    "window": dict(alpha=0.6, memory="window", memory_options={"window": 32}),
}


def import_snntorch():
    """The snnTorch package, not ``benchmarks/snntorch.py`` (this folder is on sys.path here)."""
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    sys.path[:] = [p for p in saved if os.path.abspath(p or os.curdir) != here]
    try:
        import snntorch
    finally:
        sys.path[:] = saved
    return snntorch


def case(variant: str, T: int, B: int = 32, device: str = "cpu"):
    import torch
    from torch import nn

    snn = import_snntorch()
    import fracneuron

    torch.manual_seed(0)
    fc = nn.ModuleList([nn.Linear(784, 512), nn.Linear(512, 512), nn.Linear(512, 10)])
    with torch.no_grad():
        for linear in fc:
            linear.weight.mul_(3.0)  # so that every layer spikes (hidden rates ~14% natively)
    lif = nn.ModuleList([snn.Leaky(beta=0.9) for _ in fc])
    net = nn.ModuleDict({"fc": fc, "lif": lif}).to(device)
    if VARIANTS[variant] is not None:
        fracneuron.fractionalize(net, **VARIANTS[variant])
    x = (torch.rand(T, B, 784, device=device) < 0.2).float()
    target = torch.randint(0, 10, (B,), device=device)

    def run():
        mems = [layer.init_leaky() for layer in lif]
        count = 0
        for step in range(T):
            spk = x[step]
            for i, (linear, neuron) in enumerate(zip(fc, lif)):
                spk, mems[i] = neuron(linear(spk), mems[i])
            count = count + spk
        loss = nn.functional.cross_entropy(count, target)
        loss.backward()
        net.zero_grad(set_to_none=True)
        return {"loss": f"{loss.item():.4f}", "rate": f"{count.mean().item() / T:.3f}"}

    return run
