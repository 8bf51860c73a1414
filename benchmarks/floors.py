"""What the unmet rows of issue 13 cannot go below on this machine: measured parts, added up.

Each floor is the native (or peer-free) work a row cannot avoid plus the least extra work its
design must do, every part measured here in its own fresh process, one thread:

* ``node step``: one recorded ``torch.autograd.Function`` per step that does nothing, and the
  addition that puts its output into the membrane, forward and backward, over T = 256 steps of a
  [32, 512] state, minus the same loop without them. A history that users drive one step at a
  time (snnTorch) needs at least this per step and layer;
* ``reset op``: one more recorded ``addcmul`` per step (the post-reset state the history keeps);
* ``products``: the exact history's T² work of one [32, 512] layer at T = 256 as one dense
  [T, T] × [T, B·N] matrix product (the forward's and the adjoint's triangles; α's gradient is a
  third triangle, half of it);
* ``element-wise``: the multiply-add rate of a kernel per neuron (a weight per neuron and lag,
  so its sums are element-wise: ``torch.sum(a * b)`` over [16, 32, 256] rows).

The floors (columns ``floor`` and ``floor / base``): snnTorch = native loop + products of the two
512-neuron layers + (node step + reset op) × 3 layers × 256 steps; per-neuron α = the native
layer + the per-neuron sums (forward, adjoint, α's gradient) at the element-wise rate; spikeDE =
the linear layers once on the whole sequence + the native LIF layer's own work (α = 1,
N = 1024 = 2 × 512) + 1.5 products per 512-neuron layer (T = 256). A floor above its
target means no implementation of this design in eager PyTorch reaches it on this CPU; below it, the
distance from the floor to the measured row is the implementation's own overhead.

    PYTHONPATH=$PWD:$PWD/adapters python benchmarks/floors.py
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fmt_time, measure, print_table  # noqa: E402

T_LOOP, STATE = 256, (32, 512)
#: the measured parts, in the order they are run
PARTS = ("loop", "node step", "reset op", "products", "element-wise")
#: [rows, B, F] of one per-neuron sum (a block's rows at B = 32, 256 neurons)
ROWS = (16, 32, 256)


def case(part: str):
    """The run of one measured part (see the module docstring)."""
    import torch

    if part in ("loop", "node step", "reset op"):
        xs = torch.randn(T_LOOP, *STATE)

        class Nothing(torch.autograd.Function):
            @staticmethod
            def forward(ctx, u):
                return torch.zeros_like(u)

            @staticmethod
            def backward(ctx, grad):
                return None

        def run():
            v, weight, total = torch.zeros(STATE), torch.ones(STATE, requires_grad=True), 0
            for x in xs:
                u = v * 0.9 + x * weight
                if part != "loop":
                    u = u + Nothing.apply(u)
                if part == "reset op":
                    u = torch.addcmul(u, u, x, value=-1e-3)
                v = u
                total = total + v.sum()
            total.backward()

        return run
    if part == "products":
        Q = STATE[0] * STATE[1]
        weights, values = torch.randn(T_LOOP, T_LOOP).tril(), torch.randn(T_LOOP, Q)
        out = torch.empty(T_LOOP, Q)

        def run():
            torch.mm(weights, values, out=out)

        return run
    if part == "element-wise":
        a, b = torch.randn(ROWS), torch.randn(ROWS)
        out = torch.empty(ROWS[2])

        def run():
            for _ in range(100):
                torch.sum(a * b, (0, 1), out=out)

        return run
    raise ValueError(f"unknown part {part!r}")


def measured(target: str, spec: dict, threads: int) -> float:
    return measure(target, spec, repeats=5, threads=threads)["time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    t = {part: measured("floors:case", {"part": part}, args.threads) for part in PARTS}
    node_step = (t["node step"] - t["loop"]) / T_LOOP
    reset_op = (t["reset op"] - t["node step"]) / T_LOOP
    rate = 100 * ROWS[0] * ROWS[1] * ROWS[2] / t["element-wise"]  # multiply-adds per second
    parts = [
        {"part": "node step (per step and layer)", "time": f"{node_step * 1e6:.1f} µs"},
        {"part": "reset op (per step and layer)", "time": f"{reset_op * 1e6:.1f} µs"},
        {"part": "products, one 512-neuron layer, T = 256", "time": fmt_time(t["products"])},
        {"part": "element-wise multiply-adds", "time": f"{rate / 1e9:.1f} G/s"},
    ]
    print_table(parts, ["part", "time"])
    print()

    sj = "vs_spikingjelly:layer_case"
    native_snn = measured("vs_snntorch:case", {"variant": "native", "T": 256}, args.threads)
    # two 512-neuron layers' products (the 10-neuron layer's are negligible); 3 layers step
    snn_floor = native_snn + 2 * t["products"] + 3 * T_LOOP * (node_step + reset_op)
    rows = [{"row": "snnTorch Leaky T = 256 exact / native", "base": fmt_time(native_snn),
             "floor": fmt_time(snn_floor), "floor / base": f"{snn_floor / native_snn:.2f}x", "target": "≤ 1.3x"}]
    # the per-neuron sums, each three times (forward, adjoint, α's gradient): exact T = 16 one lag-row
    # of B·N per earlier step (Σ_m m rows); soe per block of L = 16 steps its head's k0 = 16 lags for
    # each step and the block's inner lags (k0·L + Σ_i i rows)
    exact_rows, soe_rows = sum(range(16)), (1024 // 16) * (16 * 16 + sum(range(16)))
    for memory, N, T, macs in (("exact", 1024, 16, 3 * exact_rows * 32 * 1024), ("soe", 256, 1024, 3 * soe_rows * 32 * 256)):
        native = measured(sj, dict(memory=memory, N=N, T=T, variant="native", learn=False), args.threads)
        floor = native + macs / rate
        rows.append({"row": f"learned per-neuron α, {memory} T = {T} / native", "base": fmt_time(native),
                     "floor": fmt_time(floor), "floor / base": f"{floor / native:.2f}x", "target": "≤ 1.6x"})
    for T, target in ((16, 2), (256, 15)):
        linear = measured("vs_spikede:case", {"library": "linear layers only, layer by layer", "T": T}, args.threads)
        lif = measured("native_fused:case", {"config": "integer", "path": "fused", "T": T}, args.threads)
        floor = linear + lif + (1.5 * 2 * t["products"] if T == 256 else 0.0)
        rows.append({"row": f"SNNWrapper vs spikeDE, T = {T}", "base": "—", "floor": fmt_time(floor),
                     "floor / base": f"{target}x needs spikeDE ≥ {fmt_time(target * floor)}", "target": f"≥ {target}x"})
    print_table(rows, ["row", "base", "floor", "floor / base", "target"])


if __name__ == "__main__":
    main()
