"""``SNNWrapper`` against spikeDE's ``SNNWrapper`` on the same network, arguments and input.

spikeDE is not on PyPI and is never vendored here: clone it and put its source on ``PYTHONPATH``,
with its solvers (torchdiffeq from PyPI, torchfde from its repository)::

    git clone https://github.com/PhysAGI/spikeDE /tmp/spikeDE
    git clone https://github.com/kangqiyu/torchfde /tmp/torchfde
    pip install torchdiffeq
    PYTHONPATH=/tmp/spikeDE:/tmp/torchfde python benchmarks/vs_spikede.py [--T 16 256] [--repeats 3]

When spikeDE (or torchfde, or torchdiffeq) cannot be imported, the script prints one line naming
what is missing and how to get it, and exits with status 2 without running anything: a comparison
without its peer has nothing to say, and a non-zero status keeps a scripted run from passing over it.

The case: MLP 256-512-512-10, ``LIFNeuron(tau=2.0, threshold=1.0, surrogate_grad_scale=5.0,
surrogate_opt="arctan_surrogate")`` after each linear layer (each library's own neuron; the linear
layers drawn from the same seed, weights ×8 so every layer spikes: ~27 %, 23 %, 19 % in fracneuron), batch B = 32, input uniform
[0, 1) ``[T, B, 256]`` (the same tensor for both), ``SNNWrapper(net, integrator="fdeint",
alpha=0.6, learn_alpha=True)``, ``model(x, t, method="gl", options={"memory": -1})`` on the grid
t = 0, 1, …, T − 1 (h = 1), loss = sum of the output, one forward + backward per timed run. spikeDE
gets ``_set_neuron_shapes`` (it requires it; fracneuron accepts it), and each model runs once
before it is measured, so spikeDE's ``torch.compile`` happens outside the measurement (the freed
memory of that run is handed back to the kernel first, so the peak is the measured run's own). Each case
runs in a fresh process, one torch thread (benchmarks/harness.py); ``--rounds R`` repeats the pair
R times, interleaved, and keeps the medians.

A third row, ``linear layers only``, runs the same linear layers once per step with no neurons
(forward + backward): a floor for both wrappers when they step the network, so the speed-up a
stepping wrapper can show over spikeDE is at most spikeDE's time over this one. fracneuron runs
this chain network layer by layer (each linear layer once on the ``[T·B, K]`` samples,
``SNNWrapper.path``); the fourth row, ``linear layers only, layer by layer``, runs the linear
layers that way, with no neurons: the floor of that path.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fmt_mb, fmt_time, measure_rounds, print_table, ratio  # noqa: E402

#: module -> how a user gets it
PEERS = {
    "spikeDE": "git clone https://github.com/PhysAGI/spikeDE and put it on PYTHONPATH",
    "torchfde": "git clone https://github.com/kangqiyu/torchfde and put it on PYTHONPATH (spikeDE's fdeint needs it)",
    "torchdiffeq": "pip install torchdiffeq",
}
#: the same linear layers, stepped the same way, with no neurons: what no wrapper can go below
FLOOR = "linear layers only"
#: the same linear layers once each on the whole sequence [T·B, K]: the floor of the layer-by-layer path
FLOOR_LAYERED = "linear layers only, layer by layer"
FLOORS = (FLOOR, FLOOR_LAYERED)
LIBRARIES = ("spikeDE", "fracneuron", *FLOORS)
MISSING_STATUS = 2


def missing_peers(find_spec=None) -> str | None:
    """One line naming the peers that cannot be imported and how to get each; ``None`` if none."""
    find_spec = find_spec or importlib.util.find_spec
    missing = [f"{name} ({how})" for name, how in PEERS.items() if find_spec(name) is None]
    if not missing:
        return None
    return "vs_spikede: not run, missing " + "; ".join(missing)


def case(library: str, T: int, B: int = 32, device: str = "cpu"):
    import torch
    from torch import nn

    if library == "spikeDE":
        from spikeDE import LIFNeuron, SNNWrapper
    else:
        from fracneuron import LIFNeuron, SNNWrapper
    if library in FLOORS:
        LIFNeuron = lambda **_: nn.Identity()  # noqa: E731  (the linear layers' own cost)

    neuron = dict(tau=2.0, threshold=1.0, surrogate_grad_scale=5.0, surrogate_opt="arctan_surrogate")

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.lif1 = nn.Linear(256, 512), LIFNeuron(**neuron)
            self.fc2, self.lif2 = nn.Linear(512, 512), LIFNeuron(**neuron)
            self.fc3, self.lif3 = nn.Linear(512, 10), LIFNeuron(**neuron)

        def forward(self, x):
            x = self.lif1(self.fc1(x))
            x = self.lif2(self.fc2(x))
            return self.lif3(self.fc3(x))

    class Stepped(nn.Module):
        """The network called once per step, as both wrappers call it (the floor row)."""

        def __init__(self, base: nn.Module) -> None:
            super().__init__()
            self.base = base

        def forward(self, x, t, method=None, options=None):
            return torch.stack([self.base(x_k) for x_k in x])

    class Layered(Stepped):
        """The network called once on the whole sequence ``[T·B, K]`` (the layer-by-layer floor)."""

        def forward(self, x, t, method=None, options=None):
            return self.base(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:2], -1)

    torch.manual_seed(0)
    net = MLP()
    with torch.no_grad():
        for fc in (net.fc1, net.fc2, net.fc3):
            fc.weight.mul_(8.0)
    if library in FLOORS:
        model = (Stepped if library == FLOOR else Layered)(net.to(device))
    else:
        model = SNNWrapper(net.to(device), integrator="fdeint", alpha=0.6, learn_alpha=True)
        model._set_neuron_shapes(input_shape=(B, 256))
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(T, B, 256, generator=generator).to(device)
    t = torch.arange(T, dtype=torch.float32, device=device)

    def run():
        model.zero_grad(set_to_none=True)
        out = model(x, t, method="gl", options={"memory": -1})
        out.sum().backward()
        alpha_grad = sum(float(p.grad.abs().sum()) for p in model.parameters() if p.grad is not None and p.numel() == 1)
        learned = "—" if library in FLOORS else str(alpha_grad != 0.0)  # α's gradient reached its parameters
        return {"output mean": f"{out.detach().float().mean().item():.3f}", "alpha grad": learned}

    run()  # compile (spikeDE) and first-call set-up, outside the measurement
    _return_freed_memory()  # so the peak measured next is the run's own, for both libraries
    return run


def _return_freed_memory() -> None:
    """Hand memory freed by the set-up run back to the kernel (glibc), so the case's baseline RSS
    is its model and compiled code, not the first run's released activations."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the baseline is a little higher, nothing else
        pass


def main(argv=None, find_spec=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, nargs="+", default=[16, 256])
    parser.add_argument("--B", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    missing = missing_peers(find_spec)
    if missing:
        print(missing, file=sys.stderr)
        return MISSING_STATUS
    rows = []
    for T in args.T:
        specs = [{"library": lib, "T": T, "B": args.B, "device": args.device} for lib in LIBRARIES]
        res = dict(zip(LIBRARIES, measure_rounds("vs_spikede:case", specs, args.repeats, args.threads, args.rounds)))
        peer = res["spikeDE"]
        for lib in LIBRARIES:
            r = res[lib]
            rows.append({
                "T": T, "library": lib, "fwd+bwd": fmt_time(r["time_s"]), "peak mem": fmt_mb(r["peak_mb"]),
                "speed-up vs spikeDE": ratio(peer["time_s"], r["time_s"]),
                "memory saving vs spikeDE": ratio(peer["peak_mb"], r["peak_mb"]),
                "output mean": r["output mean"], "alpha grad": r["alpha grad"],
            })
    print_table(rows, ["T", "library", "fwd+bwd", "peak mem", "speed-up vs spikeDE", "memory saving vs spikeDE",
                       "output mean", "alpha grad"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
