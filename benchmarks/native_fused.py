"""Native LIF neurons in 'm' mode: the fused sequence kernel against stepping (issue 13).

Layer: ``fracneuron.neuron.LIFNeuron(tau=2, soft reset, sigmoid surrogate, step_mode="m")``,
B = 32, N = 1024, input ~ N(0.3, 0.5²), loss = spike count, one forward+backward per timed run,
α = 0.6. Per memory (``exact`` fixed α, ``exact`` α learned per layer, ``soe`` fixed α) and T:

* ``fused``:   the default path (:mod:`fracneuron.neuron.fused`: the generic sequence kernel, one
  autograd node per sequence);
* ``lean``:    the same layer run one ``single_step`` at a time (one lean autograd node per step,
  :mod:`fracneuron.neuron.lean`: what 'm' mode ran for ``exact`` and learned α before the fused
  path took them);
* ``stepped``: the same layer with ``fused_multi_step=False`` (every operation of every step
  recorded by autograd);

ratios against ``stepped`` of the same row group, and the native α = 1 layer for scale. Each case
runs in a fresh process, one torch thread by default, the whole list ``--rounds`` times
interleaved (median over rounds). ``--against DIR`` adds, for ``soe`` fixed α,
the fused path of another checkout of fracneuron (DIR: its repository root, e.g. a checkout of an
older commit), side by side in the same run. Usage::

    python benchmarks/native_fused.py [--T 16 256] [--threads 1] [--rounds 2] [--against /path/to/checkout]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, measure_rounds, print_table  # noqa: E402

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
        spikes = torch.stack([layer.single_step(x_t) for x_t in x]) if path == "lean" else layer(x)
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
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--against", default=None, help="repository root of another fracneuron checkout")
    args = parser.parse_args()
    cases = []  # (label, spec)
    for T in args.T:
        cases.append((("α = 1 (native)", T, "native"), dict(config="integer", path="fused", T=T)))
        for config in ("exact", "exact learned", "soe"):
            cases += [((config, T, path), dict(config=config, path=path, T=T)) for path in ("stepped", "lean", "fused")]
            if config == "soe" and args.against:
                spec = dict(config=config, path="fused", T=T, tree=os.path.abspath(args.against))
                cases.append(((config, T, "fused (--against)"), spec))
    results = dict(zip([label for label, _ in cases],
                       measure_rounds("native_fused:case", [spec for _, spec in cases], args.repeats, args.threads, args.rounds)))
    rows = []
    for (config, T, path), result in results.items():
        native = results[("α = 1 (native)", T, "native")]
        stepped = results.get((config, T, "stepped"), native)
        row = {"memory": config, "T": T, "path": path, **cost_columns(result, stepped, "stepped")}
        row["time / native"] = f"{result['time_s'] / native['time_s']:.2f}x"
        rows.append({**row, "spike rate": result.get("spike rate", "")})
    columns = ["memory", "T", "path", "fwd+bwd", "time / stepped", "time / native", "peak mem", "mem / stepped", "spike rate"]
    print_table(rows, columns)


if __name__ == "__main__":
    main()
