"""``SNNWrapper``: the fractional methods against the wrapper's own integer-order Euler path.

MLP 128-256-10 of ``fracneuron.LIFNeuron(tau=2)`` (B = 32, default init with weights ×5 so that
both layers spike: hidden ~16 %, output ~6 % at α = 0.6; input uniform [0, 1) ``[T, B, 128]``; loss
= sum of the output spikes), one forward + backward per timed run, on the grid
``t = 0, 1, …, T``. Variants (all through ``SNNWrapper``):

* ``euler``: ``integrator="odeint"``, ``method="euler"`` (α = 1: the baseline);
* ``gl``: ``integrator="fdeint"``, α = 0.6, ``method="gl"``, ``options={"memory": -1}`` (exact);
* ``gl stepped``: ``gl`` with ``layer_by_layer=False``: the network called once per step (every
  other variant runs this chain network layer by layer, ``SNNWrapper.path``);
* ``gl learn_alpha``: the same with ``learn_alpha=True`` (α's gradient through the GL weights);
* ``gl soe`` / ``gl window``: ``options={"memory": "soe"}`` / ``{"memory": 32}``;
* ``gl recorded``: ``gl`` with the neurons' ``fused_multi_step=False``: every operation of every
  step recorded, no lean step (what the lean step saves);
* ``l1``, ``pred``, ``trap``: the other fdeint methods (``--methods``).

Each case runs in a fresh process, one torch thread; time is the median of the repeats after a
warm-up, peak memory the case's own (benchmarks/harness.py). ``--rounds R`` runs the whole list R
times, interleaved, and keeps each case's median: ratios on a machine shared with other jobs.
Usage::

    python benchmarks/wrapper.py [--T 64 256] [--B 32] [--repeats 3] [--rounds 1] [--methods l1 pred]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import cost_columns, measure_rounds, print_table  # noqa: E402

#: variant -> (integrator, method, alpha, learn_alpha, options)
VARIANTS = {
    "euler": ("odeint", "euler", 1.0, False, {}),
    "gl": ("fdeint", "gl", 0.6, False, {"memory": -1}),
    "gl stepped": ("fdeint", "gl", 0.6, False, {"memory": -1}),
    "gl learn_alpha": ("fdeint", "gl", 0.6, True, {"memory": -1}),
    "gl recorded": ("fdeint", "gl", 0.6, False, {"memory": -1}),
    "gl soe": ("fdeint", "gl", 0.6, False, {"memory": "soe"}),
    "gl window": ("fdeint", "gl", 0.6, False, {"memory": 32}),
    "l1": ("fdeint", "l1", 0.6, False, {"memory": -1}),
    "pred": ("fdeint", "pred", 0.6, False, {"memory": -1}),
    "trap": ("fdeint", "trap", 0.6, False, {"memory": -1}),
}
DEFAULT = ("euler", "gl", "gl stepped", "gl learn_alpha", "gl recorded", "gl soe", "gl window")


def case(variant: str, T: int, B: int = 32, device: str = "cpu"):
    import torch
    from torch import nn

    import fracneuron as fn

    integrator, method, alpha, learn_alpha, options = VARIANTS[variant]
    torch.manual_seed(0)
    base = nn.Sequential(nn.Linear(128, 256), fn.LIFNeuron(tau=2.0), nn.Linear(256, 10), fn.LIFNeuron(tau=2.0))
    with torch.no_grad():
        for layer in (base[0], base[2]):
            layer.weight.mul_(5.0)
    for neuron in (base[1], base[3]):
        neuron.fused_multi_step = variant != "gl recorded"
    kwargs = {} if integrator == "odeint" else {"alpha": alpha, "learn_alpha": learn_alpha}
    model = fn.SNNWrapper(base.to(device), integrator=integrator, layer_by_layer=variant != "gl stepped", **kwargs)
    x = torch.rand(T, B, 128, device=device)
    t = torch.arange(T + 1, dtype=torch.float32, device=device)

    def run():
        model.zero_grad(set_to_none=True)
        out = model(x, t, method=method, options=dict(options))
        out.sum().backward()
        return {"spike rate": f"{out.detach().mean().item():.3f}"}

    return run


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--B", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--methods", nargs="*", default=[], choices=["l1", "pred", "trap"])
    args = parser.parse_args(argv)
    variants = [*DEFAULT, *args.methods]
    rows = []
    for T in args.T:
        specs = [{"variant": v, "T": T, "B": args.B, "device": args.device} for v in variants]
        results = dict(zip(variants, measure_rounds("wrapper:case", specs, args.repeats, args.threads, args.rounds)))
        for v in variants:
            rows.append({"T": T, "variant": v, **cost_columns(results[v], results["euler"], "euler"),
                         "spike rate": results[v]["spike rate"]})
    columns = ["T", "variant", "fwd+bwd", "peak mem", "time / euler", "mem / euler", "spike rate"]
    print_table(rows, columns)


if __name__ == "__main__":
    main()
