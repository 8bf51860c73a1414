"""Native LIF neurons in 'm' mode: the fused sequence kernel against stepping (issue 13).

Layer: ``fracneuron.neuron.LIFNeuron(tau=2, soft reset, sigmoid surrogate, step_mode="m")``,
B = 32, N = 1024, input ~ N(0.3, 0.5²), loss = spike count, one forward+backward per timed run,
α = 0.6. Per memory (``exact`` fixed α, ``exact`` α learned per layer, ``soe`` fixed α) and T:

* ``fused``:   the default path (:mod:`fracneuron.neuron.fused`: the generic sequence kernel, one
  autograd node per sequence);
* ``stepped``: the same layer with ``fused_multi_step=False`` (every operation of every step
  recorded by autograd);

ratios against ``stepped`` of the same row group, and the native α = 1 layer for scale. Each case
runs in a fresh process, one torch thread by default. ``--against DIR`` adds, for ``soe`` fixed α,
the fused path of another checkout of fracneuron (DIR: its repository root, e.g. a checkout of an
older commit), side by side in the same run. Usage::

    python benchmarks/native_fused.py [--T 16 256] [--threads 1] [--against /path/to/checkout]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, measure, print_table  # noqa: E402

CONFIGS = {
    "integer": dict(alpha=1.0, memory="exact"),
    "exact": dict(alpha=0.6, memory="exact"),
    "exact learned": dict(alpha=0.6, memory="exact", learn_alpha=True),
    "soe": dict(alpha=0.6, memory="soe", memory_options={"tol": 1e-6}),
}


def case(config: str, path: str, T: int, B: int = 32, N: int = 1024, tree: str | None = None):
    if tree:  # another checkout's fracneuron, imported before anything else imports ours
        sys.path.insert(0, tree)
    import torch

    from fracneuron.neuron import LIFNeuron

    torch.manual_seed(0)
    layer = LIFNeuron(
        tau=2.0, surrogate_opt="sigmoid", surrogate_grad_scale=4.0, step_mode="m",
        fused_multi_step=path != "stepped", **CONFIGS[config],
    )
    x = (0.3 + 0.5 * torch.randn(T, B, N)).requires_grad_()

    def run():
        layer.reset()
        spikes = layer(x)
        spikes.sum().backward()
        x.grad = None
        layer.zero_grad(set_to_none=True)
        return {"spike rate": f"{spikes.mean().item():.3f}"}

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--against", default=None, help="repository root of another fracneuron checkout")
    args = parser.parse_args()
    rows = []
    for T in args.T:
        native = measure("native_fused:case", dict(config="integer", path="fused", T=T), args.repeats, args.threads)
        rows.append({"memory": "α = 1 (native)", "T": T, "path": "native", **cost_columns(native, native, "native")})
        for config in ("exact", "exact learned", "soe"):
            runs = {path: measure("native_fused:case", dict(config=config, path=path, T=T), args.repeats, args.threads)
                    for path in ("stepped", "fused")}
            if config == "soe" and args.against:
                spec = dict(config=config, path="fused", T=T, tree=os.path.abspath(args.against))
                runs["fused (--against)"] = measure("native_fused:case", spec, args.repeats, args.threads)
            for path, result in runs.items():
                row = {"memory": config, "T": T, "path": path, **cost_columns(result, runs["stepped"], "stepped")}
                row["time / native"] = f"{result['time_s'] / native['time_s']:.2f}x"
                rows.append({**row, "spike rate": result.get("spike rate", "")})
    columns = ["memory", "T", "path", "fwd+bwd", "time / stepped", "time / native", "peak mem", "mem / stepped", "spike rate"]
    print_table(rows, columns)


if __name__ == "__main__":
    main()
