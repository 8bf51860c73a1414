"""SpikingJelly adapter: fractional vs native ``LIFNode`` in 'm' mode, forward+backward.

Two settings, each for T in {16, 64, 256}:

* ``layer``: one ``neuron.LIFNode(tau=2)`` on input ~ 1.5·U(0, 1), B = 32, N = 512, loss = spike count;
* ``mlp``:   ``layer.Linear`` 784-512-512-10 with a ``LIFNode`` after each (weights ~ N(0, 16/fan_in),
  so every layer fires), B = 32, input ~ Poisson(0.2), loss = output spike count; parameters and
  input get gradients.

Compared side by side (every case in its own process; ratios against ``native`` at the same T):

* ``native``: SpikingJelly's own node (its fused multi-step op);
* ``alpha=1``: after ``fracneuron.fractionalize(net, alpha=1.0)`` (must be the native node);
* ``exact``:  ``fractionalize(net, alpha=0.6)``, the full GL history;
* ``window``: ``fractionalize(net, alpha=0.6, memory="window", memory_options={"window": 32})``.

Target (issue 3): inside the MLP, ``exact`` within 2x of ``native`` at T = 256.

``--cases issue13``: the bare-layer rows of issue 13 instead (one ``LIFNode(tau=2)``, B = 32,
input ~ 1.5·U(0, 1), loss = spike count, one thread): ``exact`` at N = 1024, T = 16; ``soe`` at
N = 256, T = 1024; each also with a learned α, one per layer and one per neuron; every fractional
row on the fused multi-step path and (``stepped``) with ``fused_multi_step = False``. Targets:
fused / native ≤ 1.3x (fixed α), ≤ 1.6x (learned α). Usage::

    python benchmarks/vs_spikingjelly.py [--T 16 64 256] [--repeats 3] [--threads 2]
    python benchmarks/vs_spikingjelly.py --cases issue13 [--repeats 5] [--rounds 3]

(``--rounds``: the issue-13 cases of a group measured in turn that many times, medians reported.)
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, measure, measure_rounds, print_table  # noqa: E402

import torch  # noqa: E402
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402
from torch import nn  # noqa: E402

import fracneuron  # noqa: E402

VARIANTS = {
    "native": None,
    "alpha=1": dict(alpha=1.0),
    "exact": dict(alpha=0.6),
    "window": dict(alpha=0.6, memory="window", memory_options={"window": 32}),
}


def build(setting: str) -> tuple[nn.Module, int]:
    """The model and its input width."""
    if setting == "layer":
        return neuron.LIFNode(tau=2.0), 512
    mlp = nn.Sequential(
        layer.Linear(784, 512),
        neuron.LIFNode(tau=2.0),
        layer.Linear(512, 512),
        neuron.LIFNode(tau=2.0),
        layer.Linear(512, 10),
        neuron.LIFNode(tau=2.0),
    )
    for linear in mlp[::2]:  # weights large enough that every layer fires (about 10%)
        nn.init.normal_(linear.weight, std=(16.0 / linear.in_features) ** 0.5)
    return mlp, 784


def fwd_bwd(module: nn.Module, x: torch.Tensor):
    """One timed run: reset, the whole sequence forward, backward of the spike count."""

    def run():
        functional.reset_net(module)
        spikes = module(x)
        spikes.sum().backward()
        x.grad = None
        module.zero_grad(set_to_none=True)
        return {"rate": spikes.mean().item(), "checksum": spikes.sum().item()}

    return run


def case(setting: str, variant: str, T: int, B: int = 32):
    torch.manual_seed(0)
    net, width = build(setting)
    functional.set_step_mode(net, "m")
    if VARIANTS[variant] is not None:
        fracneuron.fractionalize(net, **VARIANTS[variant])
    if setting == "layer":
        x = (1.5 * torch.rand(T, B, width)).requires_grad_()
    else:
        x = (torch.rand(T, B, width) < 0.2).float().requires_grad_()
    return fwd_bwd(net, x)


#: issue 13: (memory, N, T) per row group; variants native / fused / stepped, fixed and learned α
ISSUE13 = [("exact", 1024, 16), ("soe", 256, 1024)]
#: (learn_alpha, per_neuron) of each row group, and its label
ALPHAS = {(False, False): "0.6", (True, False): "learned per layer", (True, True): "learned per neuron"}


def layer_case(memory: str, N: int, T: int, variant: str, learn: bool, B: int = 32, per_neuron: bool | None = None):
    """A bare fractional ``LIFNode`` layer (issue 13's rows); ``variant`` native, fused or stepped;
    a learned α is one per neuron unless ``per_neuron=False`` (one per layer)."""
    torch.manual_seed(0)
    node = neuron.LIFNode(tau=2.0, step_mode="m")
    if variant != "native":
        per_neuron = learn if per_neuron is None else per_neuron
        node = fracneuron.fractional(neuron.LIFNode)(
            tau=2.0, step_mode="m", alpha=0.6, memory=memory, learn_alpha=learn, per_neuron=per_neuron
        )
        node.fused_multi_step = variant == "fused"
    x = (1.5 * torch.rand(T, B, N)).requires_grad_()
    return fwd_bwd(node, x)


def issue13(repeats: int, threads: int | None, rounds: int = 1) -> None:
    rows = []
    for memory, N, T in ISSUE13:
        # every case of the group, measured in turn ``rounds`` times (a load that comes and goes
        # hits native and fractional alike): medians over the rounds
        labels, specs = [("0.6", "native")], [dict(memory=memory, N=N, T=T, variant="native", learn=False)]
        for (learn, per_neuron), label in ALPHAS.items():
            for variant in ("fused", "stepped"):
                labels.append((label, variant))
                specs.append(dict(memory=memory, N=N, T=T, variant=variant, learn=learn, per_neuron=per_neuron))
        results = measure_rounds("vs_spikingjelly:layer_case", specs, repeats, threads or 1, rounds)
        base = results[0]
        for (label, variant), r in zip(labels, results):
            rows.append(
                {
                    "memory": memory,
                    "N": N,
                    "T": T,
                    "alpha": label,
                    "path": variant,
                    **cost_columns(r, base, "native"),
                    "spike rate": f"{r['rate']:.3f}",
                }
            )
    print_table(rows, ["memory", "N", "T", "alpha", "path", "fwd+bwd", "time / native", "peak mem", "mem / native", "spike rate"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--T", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--settings", nargs="+", default=["layer", "mlp"], choices=["layer", "mlp"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads per case")
    parser.add_argument("--cases", choices=["default", "issue13"], default="default")
    parser.add_argument("--rounds", type=int, default=1, help="issue13: interleaved rounds (medians)")
    args = parser.parse_args()
    if args.cases == "issue13":
        return issue13(args.repeats, args.threads, args.rounds)
    target = "vs_spikingjelly:case"
    rows = []
    for setting in args.settings:
        for T in args.T:
            spec = dict(setting=setting, T=T)
            results = {v: measure(target, dict(spec, variant=v), args.repeats, args.threads) for v in VARIANTS}
            base = results["native"]
            for variant, r in results.items():
                rows.append(
                    {
                        "setting": setting,
                        "T": T,
                        "neuron": variant,
                        **cost_columns(r, base, "native"),
                        "spike rate": f"{r['rate']:.3f}",
                        "same spikes as native": "yes" if r["checksum"] == base["checksum"] else "no",
                    }
                )
    columns = ["setting", "T", "neuron", "fwd+bwd", "time / native", "peak mem", "mem / native", "spike rate", "same spikes as native"]
    print_table(rows, columns)


if __name__ == "__main__":
    main()
