"""Memory engines on a fractional LIF layer: forward+backward time and peak memory (issues 2 and 6).

Layer: fracneuron.neuron.LIFNeuron (tau=2, soft reset, sigmoid surrogate), B = 32, N = 1024,
input ~ N(0.3, 0.5²), loss = spike count, one forward+backward per timed run.

Default run (issue 2), T ∈ {64, 256, 1024}, ratios against ``integer`` at the same T:

* ``integer``: the plain integer-order update (the same layer at α = 1: no history at all);
* ``exact``:   α = 0.6, the full GL history;
* ``window``:  α = 0.6, the last L = 32 states.

``--soe`` (issue 6), T ∈ {256, 1024, 4096}, ratios against SpikingJelly's native ``LIFNode``
(step_mode 'm', same τ, soft reset, sigmoid surrogate) and against ``exact``:

* ``spikingjelly``: ``spikingjelly.activation_based.neuron.LIFNode`` (α = 1, the baseline);
* ``soe``:   α = 0.6, sum-of-exponentials memory (tol = 1e-6, K modes), on the fused multi-step
  path (``fracneuron.neuron.fused``: one autograd node per sequence, hand-written backward);
* ``soe stepped``: the same layer with ``fused_multi_step=False`` (an autograd graph per step),
  for comparison;
* ``exact``: α = 0.6, the full GL history;

``--nograd`` (issue 13): inference memory, ``exact`` against ``soe`` under ``torch.no_grad()`` on 8
neurons (input [T, 8], step_mode 'm': exact is stepped, soe fused), T = 20,000: the peak memory
above the process baseline, with the stored history itself (T·8 floats) for scale.

(``--soe``: all at B = 32; above T = 2048 exact, tens of seconds a run and ~9 GB of RSS at T = 4096, is
timed once), then the accuracy of ``soe`` against ``exact`` on a spiking LIF layer (float64, T = 4096,
α ∈ {0.3, 0.6, 0.9}) and the number of modes K for tol = 1e-6. Usage::

    python benchmarks/memory_engines.py [--T 64 256 1024] [--device cpu]
    python benchmarks/memory_engines.py --soe [--T 256 1024 4096] [--device cpu] [--threads 1]
    python benchmarks/memory_engines.py --nograd [--T 20000] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, fmt_mb, fmt_time, measure, print_table, ratio  # noqa: E402

ENGINES = {
    "integer": dict(alpha=1.0, memory="exact", memory_options=None),
    "exact": dict(alpha=0.6, memory="exact", memory_options=None),
    "window": dict(alpha=0.6, memory="window", memory_options={"window": 32}),
    "soe": dict(alpha=0.6, memory="soe", memory_options={"tol": 1e-6}),
    "soe stepped": dict(alpha=0.6, memory="soe", memory_options={"tol": 1e-6}, fused_multi_step=False),
}


def _spikingjelly_layer():
    from spikingjelly.activation_based import functional, neuron, surrogate

    layer = neuron.LIFNode(
        tau=2.0, decay_input=True, v_reset=None, surrogate_function=surrogate.Sigmoid(alpha=4.0), step_mode="m"
    )
    return layer, lambda: functional.reset_net(layer)


def case(engine: str, T: int, B: int = 32, N: int = 1024, device: str = "cpu"):
    import torch

    from fracneuron.neuron import LIFNeuron

    torch.manual_seed(0)
    if engine == "spikingjelly":
        layer, reset = _spikingjelly_layer()
        layer = layer.to(device)
    else:
        config = ENGINES[engine]
        layer = LIFNeuron(tau=2.0, surrogate_opt="sigmoid", surrogate_grad_scale=4.0, step_mode="m", **config).to(device)
        reset = layer.reset
    x = (0.3 + 0.5 * torch.randn(T, B, N, device=device)).requires_grad_()

    def run():
        reset()
        spikes = layer(x)
        spikes.sum().backward()
        x.grad = None
        extra = {"spike_rate": f"{spikes.mean().item():.3f}"}
        if engine.startswith("soe"):
            extra["modes"] = layer.memory.engine.modes
        return extra

    return run


def nograd_case(engine: str, T: int, N: int = 8, device: str = "cpu"):
    """A fractional LIF layer of N neurons run over T steps under ``torch.no_grad()``."""
    import torch

    from fracneuron.neuron import LIFNeuron

    torch.manual_seed(0)
    config = {k: v for k, v in ENGINES[engine].items() if k != "fused_multi_step"}
    layer = LIFNeuron(tau=2.0, step_mode="m", **config).to(device)
    x = 0.3 + 0.5 * torch.randn(T, N, device=device)

    def run():
        layer.reset()
        with torch.no_grad():
            spikes = layer(x)
        return {"spike_rate": f"{spikes.mean().item():.3f}"}

    return run


def nograd_table(T_values, device: str, repeats: int, threads: int | None = None) -> None:
    """Issue 13: peak memory of exact and soe under no_grad (target: exact <= 3x soe)."""
    rows = []
    for T in T_values:
        results = {e: measure("memory_engines:nograd_case", dict(engine=e, T=T, device=device), repeats, threads) for e in ("soe", "exact")}
        for engine, r in results.items():
            costs = cost_columns(r, results["soe"], "soe")
            costs["time"] = costs.pop("fwd+bwd")  # forward only here
            stored = f"{T * 8 * 4 / 2**20:.2f} MB"
            rows.append({"T": T, "engine": engine, **costs, "stored history": stored, "spike rate": r["spike_rate"]})
    print_table(rows, ["T", "engine", "time", "peak mem", "time / soe", "mem / soe", "stored history", "spike rate"])


def engine_table(T_values, device: str, repeats: int, threads: int | None = None) -> None:
    """Issue 2: integer, exact, window at each T, ratios against integer."""
    rows = []
    for T in T_values:
        results = {e: measure("memory_engines:case", dict(engine=e, T=T, device=device), repeats, threads) for e in ("integer", "exact", "window")}
        base = results["integer"]
        for engine, r in results.items():
            rows.append({"T": T, "engine": engine, **cost_columns(r, base, "integer"), "spike rate": r["spike_rate"]})
    print_table(rows, ["T", "engine", "fwd+bwd", "peak mem", "time / integer", "mem / integer", "spike rate"])


EXACT_REPEATED_MAX_T = 2048  # above it exact takes tens of seconds a run: timed once


def soe_table(T_values, device: str, repeats: int, threads: int | None = None) -> None:
    """Issue 6: soe against SpikingJelly's LIFNode and the exact engine, with the acceptance ratios."""
    rows, results = [], {}

    def run(engine: str, T: int, reps: int) -> dict:
        r = results[T, engine] = measure("memory_engines:case", dict(engine=engine, T=T, device=device), reps, threads)
        costs = cost_columns(r, results[T, "spikingjelly"], "SJ LIFNode")
        rows.append({"T": T, "engine": engine, "K": r.get("modes", ""), **costs, "spike rate": r["spike_rate"]})
        return r

    for T in T_values:
        run("spikingjelly", T, repeats)
        run("soe", T, repeats)
        run("soe stepped", T, repeats if T <= EXACT_REPEATED_MAX_T else 1)
        run("exact", T, repeats if T <= EXACT_REPEATED_MAX_T else 1)
    print_table(rows, ["T", "engine", "K", "fwd+bwd", "peak mem", "time / SJ LIFNode", "mem / SJ LIFNode", "spike rate"])
    print()
    lo, hi = min(T_values), max(T_values)
    time_of = lambda T, engine: results[T, engine]["time_s"]  # noqa: E731
    checks = [
        {"check": f"soe time T={hi} / T={lo} (linear: {hi / lo:g}x, within 20%)", "value": ratio(time_of(hi, "soe"), time_of(lo, "soe"))},
        {"check": f"SJ LIFNode time T={hi} / T={lo} (the same growth for the native node)", "value": ratio(time_of(hi, "spikingjelly"), time_of(lo, "spikingjelly"))},
        {"check": f"exact / soe time at T={hi} (target >= 10x)", "value": ratio(time_of(hi, "exact"), time_of(hi, "soe"))},
        {"check": f"soe stepped / soe (fused) time at T={hi}", "value": ratio(time_of(hi, "soe stepped"), time_of(hi, "soe"))},
    ]
    if 1024 in T_values:
        checks += [
            {"check": "soe / SJ LIFNode time at T=1024 (target <= 3x)", "value": ratio(time_of(1024, "soe"), time_of(1024, "spikingjelly"))},
            {
                "check": "soe / SJ LIFNode peak mem at T=1024 (target <= 2x)",
                "value": ratio(results[1024, "soe"]["peak_mb"], results[1024, "spikingjelly"]["peak_mb"]),
            },
        ]
    print_table(checks, ["check", "value"])


def accuracy(alpha: float, T: int = 4096, B: int = 8, N: int = 128, tol: float = 1e-6) -> dict:
    """soe against exact on a spiking LIF layer (float64) driven by a fixed random input.

    Neurons of a layer are independent, so each is compared up to its own first differing spike:
    ``max_dv`` = max over neurons and steps before it of |v_soe − v_exact|.
    """
    import torch

    from fracneuron.neuron import LIFNeuron

    gen = torch.Generator().manual_seed(1)
    x = 1.0 + 0.5 * torch.randn(T, B, N, generator=gen, dtype=torch.float64)
    layers = {
        m: LIFNeuron(tau=2.0, alpha=alpha, memory=m, memory_options={"tol": tol} if m == "soe" else None).double()
        for m in ("exact", "soe")
    }
    v, s = {m: [] for m in layers}, {m: [] for m in layers}
    with torch.no_grad():
        for xt in x:
            for m, layer in layers.items():
                s[m].append(layer(xt))
                v[m].append(layer.v)
    v = {m: torch.stack(v[m]) for m in v}
    s = {m: torch.stack(s[m]) for m in s}
    differ = s["soe"] != s["exact"]
    steps = torch.arange(T).reshape(T, 1, 1).expand_as(differ)
    first = torch.where(differ, steps, torch.full_like(steps, T)).min(dim=0).values  # per neuron
    before = steps < first
    dv = ((v["soe"] - v["exact"]).abs() * before).max().item()
    bound = 10 * tol * v["exact"].abs().max().item()
    return {
        "alpha": alpha,
        "K": layers["soe"].memory.engine.modes,
        "kernel error": f"{layers['soe'].memory.engine.fit.error:.2e}",
        "max Δv before 1st differing spike": f"{dv:.2e}",
        "10·tol·max v": f"{bound:.2e}",
        "ratio (<= 1)": f"{dv / bound:.3f}",
        "differing spikes": f"{int(differ.sum())} of {int(s['exact'].sum())}",
        "neurons affected": f"{int((first < T).sum())} of {B * N}",
    }


def accuracy_table(T: int) -> None:
    rows = [accuracy(a, T) for a in (0.3, 0.6, 0.9)]
    print_table(rows, list(rows[0]))


def modes_table(tol: float = 1e-6) -> None:
    """K for tol over horizons 1e3 … 1e6 and α ∈ [0.2, 1) (each α alone, and one fit for all of them)."""
    from fracneuron.memory.soe import SoeMemory
    from fracneuron.soe_fit import fit_rates

    k0 = SoeMemory().exact_lags
    alphas = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
    rows = []
    for horizon in (10**3, 10**4, 10**5, 10**6):
        row = {"horizon": f"1e{len(str(horizon)) - 1}"}
        for a in alphas:
            row[f"a={a:g}"] = fit_rates(tol, horizon, k0, a, a).modes
        together = fit_rates(tol, horizon, k0, 0.2, 0.99)
        row["all of [0.2,0.99]"] = together.modes
        row["max kernel error"] = f"{together.error:.1e}"
        rows.append(row)
    print(f"K (modes) for tol={tol:g}, exact_lags={k0} (the defaults):")
    print_table(rows, list(rows[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, nargs="+", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per case (default: torch's; with --soe: 1, see below)",
    )
    parser.add_argument("--soe", action="store_true", help="issue 6: soe vs SpikingJelly LIFNode and exact, accuracy, K")
    parser.add_argument("--nograd", action="store_true", help="issue 13: exact vs soe peak memory under no_grad, 8 neurons")
    parser.add_argument("--accuracy-T", type=int, default=4096)
    args = parser.parse_args()
    if args.nograd:
        nograd_table(args.T or [20000], args.device, args.repeats, args.threads or 1)
        return
    if not args.soe:
        engine_table(args.T or [64, 256, 1024], args.device, args.repeats, args.threads)
        return
    # One thread by default: SpikingJelly's per-step ops on [32, 1024] tensors are below torch's
    # parallel grain size (they run on one thread anyway), and a second thread only adds fork/join
    # waits to soe's small per-step ops, which on a shared machine cost more than the work.
    soe_table(args.T or [256, 1024, 4096], args.device, args.repeats, args.threads or 1)
    print()
    accuracy_table(args.accuracy_T)
    print()
    modes_table()


if __name__ == "__main__":
    main()
