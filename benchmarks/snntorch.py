"""snnTorch adapter: fractional vs native ``snn.Leaky`` in an MLP, forward+backward.

MLP 784-512-512-10 (B = 32), snnTorch's explicit ``for step in range(T)`` loop, T ∈ {16, 64, 256};
see ``snntorch_mlp.py`` for the network and the variants (native, α = 1, exact α = 0.6, window
α = 0.6 L = 32). Time (median of the repeats after a warm-up) and peak memory (CPU RSS above the
process baseline, or CUDA max allocated) per variant, each in a fresh process, with ratios against
native snnTorch at the same T. ``--interleaved`` instead builds every case in this process and
times them in turn, best CPU time of the repeats: less exact about memory, more robust on a machine
shared with other jobs. Usage::

    python benchmarks/snntorch.py [--T 16 64 256] [--device cpu] [--repeats 3] [--threads N] [--interleaved]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, fmt_time, measure, print_table, ratio  # noqa: E402
from snntorch_mlp import VARIANTS, case  # noqa: E402


def interleaved(T: int, device: str, repeats: int) -> dict:
    """Best CPU time of each variant, the variants timed in turn within this process."""
    runs = {v: case(v, T, device=device) for v in VARIANTS}
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
    args = parser.parse_args()
    rows = []
    if args.interleaved:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        for T in args.T:
            best = interleaved(T, args.device, args.repeats)
            rows.append({"T": T, **{v: f"{fmt_time(t)} ({ratio(t, best['native'])})" for v, t in best.items()}})
        print_table(rows, ["T", *VARIANTS])
        return
    for T in args.T:
        results = {
            v: measure("snntorch_mlp:case", dict(variant=v, T=T, device=args.device), args.repeats, args.threads)
            for v in VARIANTS
        }
        base = results["native"]
        for variant, r in results.items():
            rows.append({"T": T, "variant": variant, **cost_columns(r, base, "native"), "loss": r["loss"], "spike rate": r["rate"]})
    print_table(rows, ["T", "variant", "fwd+bwd", "peak mem", "time / native", "mem / native", "loss", "spike rate"])


if __name__ == "__main__":
    main()
