"""Memory engines on a fractional LIF layer: forward+backward time and peak memory.

Layer: fracneuron.neuron.LIFNeuron (tau=2, soft reset, sigmoid surrogate), B = 32, N = 1024,
input ~ N(0.3, 0.5²), loss = spike count, one forward+backward per timed run. Compared, in one run:

* ``integer``: the plain integer-order update (the same layer at α = 1: no history at all);
* ``exact``:   α = 0.6, the full GL history;
* ``window``:  α = 0.6, the last L = 32 states.

Ratios are against ``integer`` at the same T. Usage::

    python benchmarks/memory_engines.py [--T 64 256 1024] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, measure, print_table  # noqa: E402

ENGINES = {
    "integer": dict(alpha=1.0, memory="exact", memory_options=None),
    "exact": dict(alpha=0.6, memory="exact", memory_options=None),
    "window": dict(alpha=0.6, memory="window", memory_options={"window": 32}),
}


def case(engine: str, T: int, B: int = 32, N: int = 1024, device: str = "cpu"):
    import torch

    from fracneuron.neuron import LIFNeuron

    torch.manual_seed(0)
    config = ENGINES[engine]
    layer = LIFNeuron(tau=2.0, surrogate_opt="sigmoid", surrogate_grad_scale=4.0, step_mode="m", **config).to(device)
    x = (0.3 + 0.5 * torch.randn(T, B, N, device=device)).requires_grad_()

    def run():
        layer.reset()
        spikes = layer(x)
        spikes.sum().backward()
        x.grad = None
        return {"spike_rate": f"{spikes.mean().item():.3f}"}

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for T in args.T:
        results = {e: measure("memory_engines:case", dict(engine=e, T=T, device=args.device), args.repeats) for e in ENGINES}
        base = results["integer"]
        for engine, r in results.items():
            rows.append({"T": T, "engine": engine, **cost_columns(r, base, "integer"), "spike rate": r["spike_rate"]})
    print_table(rows, ["T", "engine", "fwd+bwd", "peak mem", "time / integer", "mem / integer", "spike rate"])


if __name__ == "__main__":
    main()
