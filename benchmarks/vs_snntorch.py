"""snnTorch adapter: fractional vs native ``snn.Leaky`` in an MLP, forward+backward.

MLP 784-512-512-10 (B = 32), snnTorch's explicit ``for step in range(T)`` loop, T ∈ {16, 64, 256};
the network and the variants are below (native, α = 1, exact α = 0.6, window α = 0.6 L = 32). Time (median of the repeats after a warm-up) and peak memory (CPU RSS above the
process baseline, or CUDA max allocated) per variant, each in a fresh process, with ratios against
native snnTorch at the same T. ``--interleaved`` instead builds every case in this process and
times them in turn, best CPU time of the repeats: less exact about memory, more robust on a machine
shared with other jobs. Usage::

    python benchmarks/vs_snntorch.py [--T 16 64 256] [--device cpu] [--repeats 3] [--threads N] [--interleaved]
                                     [--variants native exact]

``--variants`` runs a subset (``native`` is always included: the ratios need it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, fmt_time, measure, print_table, ratio  # noqa: E402

# The case: an snnTorch explicit-loop network, one fwd+bwd.
#
# MLP 784-512-512-10 with ``snn.Leaky(beta=0.9)`` after each linear layer (default init, weights
# ×3), batch B = 32, input a Bernoulli(0.2) spike train [T, B, 784], loss = cross-entropy of the
# output spike counts. Variants:
#
# * ``native``:  snnTorch's Leaky, untouched;
# * ``alpha=1``: ``fracneuron.fractionalize(net, alpha=1.0)`` (the wrapper's overhead; bit-exact);
# * ``exact``:   α = 0.6, full GL history;
# * ``window``:  α = 0.6, last L = 32 states.
VARIANTS = {
    "native": None,
    "alpha=1": dict(alpha=1.0),
    "exact": dict(alpha=0.6, memory="exact"),
    "window": dict(alpha=0.6, memory="window", memory_options={"window": 32}),
}


def case(variant: str, T: int, B: int = 32, device: str = "cpu"):
    import torch
    from torch import nn

    import snntorch as snn
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


def interleaved(T: int, device: str, repeats: int, variants=tuple(VARIANTS)) -> dict:
    """Best CPU time of each variant, the variants timed in turn within this process."""
    runs = {v: case(v, T, device=device) for v in variants}
    for run in runs.values():
        run()  # warm-up
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for variant, run in runs.items():
            start = time.process_time()
            run()
            best[variant] = min(best[variant], time.process_time() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per case (default: torch's)")
    parser.add_argument("--interleaved", action="store_true", help="CPU time, all variants in one process")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    variants = ["native"] + [v for v in args.variants if v != "native"]
    rows = []
    if args.interleaved:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        for T in args.T:
            best = interleaved(T, args.device, args.repeats, variants)
            rows.append({"T": T, **{v: f"{fmt_time(t)} ({ratio(t, best['native'])})" for v, t in best.items()}})
        print_table(rows, ["T", *variants])
        return
    for T in args.T:
        results = {
            v: measure("vs_snntorch:case", dict(variant=v, T=T, device=args.device), args.repeats, args.threads)
            for v in variants
        }
        base = results["native"]
        for variant, r in results.items():
            rows.append({"T": T, "variant": variant, **cost_columns(r, base, "native"), "loss": r["loss"], "spike rate": r["rate"]})
    print_table(rows, ["T", "variant", "fwd+bwd", "peak mem", "time / native", "mem / native", "loss", "spike rate"])


if __name__ == "__main__":
    main()
