"""fdeint against the PyPI peers, training memory, the adjoint, and measured convergence orders.

1. Accuracy and speed on D^0.6 y = −y, y(0) = 1, t ∈ [0, 5] (float64, N steps), in one run:
   fracneuron's ``gl``, ``l1``, ``pred``, ``abm``, ``trap`` (and ``l1``/``trap`` with the leak as
   ``options={"linear": 1.0}``) against FDEint (PyPI ``fdeint``: DFF PECE) and pycaputo
   (ForwardEuler = product rectangle, PECE, Trapezoidal, L1). Max error over the grid against
   E_α(−t^α); time of one solve (median of repeats, fresh process per case, one thread for all:
   the states are scalars, so this measures per-step overhead, which threads only add to).
2. Training peak memory (forward + backward, gradients for y0 and α) against N.
3. ``fdeint`` vs ``fdeint_adjoint`` for a network right-hand side (MLP 32→2048→32, 16 states):
   peak memory and time of forward + backward against N.
4. Measured orders at t = 1, halving h from N = 100 to 6400, for the relaxation, the smooth
   problem (y = t³) and Diethelm–Ford–Freed's nonlinear benchmark, α ∈ {0.3, 0.6, 0.9}.

Usage::

    python benchmarks/solvers.py [--N 100 1000 4000] [--repeats 3] [--skip-orders]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fmt_mb, fmt_time, measure, print_table, ratio  # noqa: E402

ALPHA, T_END = 0.6, 5.0

# name -> (library, scheme, how to call)
SOLVERS = {
    "gl": ("fracneuron", "Grünwald–Letnikov", {"method": "gl"}),
    "pred": ("fracneuron", "product rectangle", {"method": "pred"}),
    "abm": ("fracneuron", "DFF PECE", {"method": "abm"}),
    "trap": ("fracneuron", "product trapezoid", {"method": "trap"}),
    "trap+linear": ("fracneuron", "product trapezoid", {"method": "trap", "linear": True}),
    "l1": ("fracneuron", "L1 (implicit)", {"method": "l1"}),
    "l1+linear": ("fracneuron", "L1 (implicit)", {"method": "l1", "linear": True}),
    "FDEint PECE": ("fdeint 0.1.2", "DFF PECE", {}),
    "pycaputo ForwardEuler": ("pycaputo", "product rectangle", {"cls": "ForwardEuler"}),
    "pycaputo PECE": ("pycaputo", "DFF PECE", {"cls": "PECE"}),
    "pycaputo Trapezoidal": ("pycaputo", "product trapezoid", {"cls": "Trapezoidal"}),
    "pycaputo L1": ("pycaputo", "L1 (implicit)", {"cls": "L1"}),
}


def _exact(t):
    import fracneuron as fn

    return fn.mittag_leffler(ALPHA, -(t**ALPHA))


def case(solver: str, N: int, train: bool = False):
    """One solve of D^0.6 y = −y on N steps (``train``: forward + backward for y0 and α)."""
    import numpy as np
    import torch

    import fracneuron as fn

    t = torch.linspace(0, T_END, N + 1, dtype=torch.float64)
    exact = _exact(t)
    library, _, how = SOLVERS[solver]

    if library == "fracneuron":
        options = {"linear": 1.0} if how.get("linear") else None
        func = (lambda t, y: torch.zeros_like(y)) if options else (lambda t, y: -y)

        def solve():
            y0 = torch.ones(1, dtype=torch.float64, requires_grad=train)
            alpha = torch.tensor(ALPHA, dtype=torch.float64, requires_grad=train)
            y = fn.fdeint(func, y0, t, alpha, how["method"], options)
            if train:
                y.sum().backward()
            return y.detach()[:, 0]

    elif library.startswith("fdeint"):
        from FDEint import FDEint

        def solve():
            y0 = torch.ones(1, 1, dtype=torch.float64, requires_grad=train)
            alpha = torch.tensor(ALPHA, dtype=torch.float64, requires_grad=train)
            y = FDEint(lambda t, y: -y, t, y0, alpha, dtype=torch.float64)
            if train:
                y.sum().backward()
            return y.detach()[0, :, 0]

    else:
        from pycaputo.controller import make_fixed_controller
        from pycaputo.derivatives import CaputoDerivative
        from pycaputo.events import StepCompleted
        from pycaputo.fode import caputo
        from pycaputo.stepping import evolve

        cls = getattr(caputo, how["cls"])
        extra = {"corrector_iterations": 1} if how["cls"] == "PECE" else {}
        if how["cls"] in ("Trapezoidal", "L1"):
            extra["source_jac"] = lambda t, y: -np.eye(1)

        def solve():
            method = cls(
                ds=(CaputoDerivative(ALPHA),),
                control=make_fixed_controller(T_END / N, tstart=0.0, tfinal=T_END),
                source=lambda t, y: -y,
                y0=(np.array([1.0]),),
                **extra,
            )
            # dtinit: without it pycaputo estimates its own first step and leaves the grid
            ys = [float(np.asarray(e.y).reshape(-1)[0]) for e in evolve(method, dtinit=T_END / N) if isinstance(e, StepCompleted)]
            return torch.tensor(ys, dtype=torch.float64)

    def run():
        y = solve()
        if y.shape != exact.shape:
            return {"max_error": float("nan"), "end_error": float("nan")}
        return {"max_error": float((y - exact).abs().max()), "end_error": float((y[-1] - exact[-1]).abs())}

    return run


def adjoint_case(solver: str, N: int, hidden: int = 2048, states: int = 16, width: int = 32):
    """Forward + backward through an MLP right-hand side, D^0.7 y = net(y) − y."""
    import torch

    import fracneuron as fn

    from torch.utils.checkpoint import checkpoint

    # torch's checkpoint imports its compiler stack on first use (~1 s, tens of MB): not ours to count
    checkpoint(torch.sin, torch.ones(1, requires_grad=True), use_reentrant=False)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, width)).double()
    y0 = torch.randn(states, width, dtype=torch.float64) * 0.1
    t = torch.linspace(0, 1, N + 1, dtype=torch.float64)
    integrate = fn.fdeint if solver == "fdeint" else fn.fdeint_adjoint

    def run():
        alpha = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
        y = integrate(lambda t, y: net(y) - y, y0, t, alpha, "abm")
        y[-1].square().sum().backward()
        net.zero_grad()
        return {"alpha_grad": f"{float(alpha.grad):.6e}"}

    return run


def orders_table(sizes: list[int]) -> None:
    import torch

    import fracneuron as fn

    torch.set_num_threads(1)
    a = torch.tensor([0.3, 0.6, 0.9], dtype=torch.float64)

    def gamma(x):
        return torch.exp(torch.lgamma(torch.as_tensor(x, dtype=torch.float64)))

    def g(t, y):  # leaks are the linear part λ = (1, 1, 0); DFF's −y^{3/2} stays in g
        smooth = t**3 + 6 * t ** (3 - a) / gamma(4 - a)
        dff = (
            40320 / gamma(9 - a) * t ** (8 - a)
            - 3 * gamma(5 + a / 2) / gamma(5 - a / 2) * t ** (4 - a / 2)
            + 9 / 4 * gamma(a + 1)
            + (1.5 * t ** (a / 2) - t**4) ** 3
            - y[2].clamp(min=0) ** 1.5
        )
        return torch.stack([torch.zeros_like(y[0]), smooth, dff])

    y0 = torch.tensor([[1.0] * 3, [0.0] * 3, [0.0] * 3], dtype=torch.float64)
    lam = torch.tensor([[1.0], [1.0], [0.0]], dtype=torch.float64)
    exact = torch.stack([fn.mittag_leffler(a, -torch.ones(3, dtype=torch.float64)), torch.ones(3), torch.full((3,), 0.25)])
    problems = ["relaxation", "smooth t³", "DFF"]
    # the smooth problem converges at each method's declared convergence order; the relaxation
    # (a t^α-type solution) and DFF at these (None: no clean order to compare with)
    nonsmooth = {
        "gl": lambda al: (1.0, 1.0),
        "pred": lambda al: (1.0, 1.0),
        "l1": lambda al: (1.0, None),
        "abm": lambda al: (1 + al, 1 + al),
        "trap": lambda al: (1 + al, None),
    }

    def theory(method: str, p: int, al: float) -> float | None:
        if p == 1:
            return fn.solvers.method_class(method).convergence_order(al)
        return nonsmooth[method](al)[p // 2]
    rows = []
    for method in ["gl", "pred", "l1", "abm", "trap"]:
        implicit = method in ("l1", "trap")  # the same scheme, the leak solved exactly
        options = {"linear": lam} if implicit else None
        func = g if implicit else (lambda t, y: g(t, y) - lam * y)
        errors = []
        for n in sizes:
            t = torch.linspace(0, 1, n + 1, dtype=torch.float64)
            errors.append((fn.fdeint(func, y0, t, a, method, options)[-1] - exact).abs())
        errors = torch.stack(errors)
        pairs = torch.log2(errors[:-1] / errors[1:])
        for p in range(3):
            for j in range(3):
                expected = theory(method, p, float(a[j]))
                rows.append(
                    {
                        "method": method,
                        "problem": problems[p],
                        "alpha": f"{float(a[j]):.1f}",
                        "orders (N=100→6400 pairs)": " ".join(f"{float(o):.2f}" for o in pairs[:, p, j]),
                        "last pair": f"{float(pairs[-1, p, j]):.2f}",
                        "theory": "—" if expected is None else f"{expected:.2f}",
                        "off by": "—" if expected is None else f"{abs(float(pairs[-1, p, j]) - expected):.2f}",
                        "error N=6400": f"{float(errors[-1, p, j]):.2e}",
                    }
                )
    print("\n## Measured orders at t = 1 (halving h; l1/trap take the leaks as their implicit linear part)\n")
    print_table(rows, ["method", "problem", "alpha", "orders (N=100→6400 pairs)", "last pair", "theory", "off by", "error N=6400"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--N", type=int, nargs="+", default=[100, 1000, 4000])
    parser.add_argument("--train-N", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--adjoint-N", type=int, nargs="+", default=[250, 500, 1000])
    parser.add_argument("--order-N", type=int, nargs="+", default=[100, 200, 400, 800, 1600, 3200, 6400])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-orders", action="store_true")
    args = parser.parse_args()

    print(f"## D^{ALPHA} y = −y, y(0) = 1, t ∈ [0, {T_END:g}], float64, one thread\n")
    rows = []
    for N in args.N:
        results = {s: measure("solvers:case", dict(solver=s, N=N), args.repeats, threads=1) for s in SOLVERS}
        base = results["FDEint PECE"]["time_s"]
        for name, r in results.items():
            library, scheme, _ = SOLVERS[name]
            rows.append(
                {
                    "N": N,
                    "solver": name,
                    "scheme": scheme,
                    "max error": f"{r['max_error']:.3e}",
                    "error at T": f"{r['end_error']:.3e}",
                    "time": fmt_time(r["time_s"]),
                    "speed-up vs FDEint PECE": ratio(base, r["time_s"]),
                }
            )
    print_table(rows, ["N", "solver", "scheme", "max error", "error at T", "time", "speed-up vs FDEint PECE"])

    # Peak RSS only tracks live tensors if freed blocks go back to the system: glibc otherwise
    # keeps freed ~100 kB blocks on its heap. Memory sections only (mmap'ing every block slows
    # solvers that allocate per step, so the timings above run with the default allocator).
    os.environ["MALLOC_MMAP_THRESHOLD_"] = "65536"
    print("\n## Training (forward + backward for y0 and α): peak memory against N\n")
    rows, first = [], {}
    for name in ["gl", "abm", "trap+linear", "FDEint PECE"]:
        for N in args.train_N:
            r = measure("solvers:case", dict(solver=name, N=N, train=True), 1, threads=1)
            first.setdefault(name, (N, r["peak_mb"]))
            n0, m0 = first[name]
            rows.append(
                {
                    "solver": name,
                    "N": N,
                    "fwd+bwd": fmt_time(r["time_s"]),
                    "peak mem": fmt_mb(r["peak_mb"]),
                    f"mem / mem(N={n0})": ratio(r["peak_mb"], m0),
                    "N ratio": f"{N / n0:.0f}x",
                }
            )
    print_table(rows, ["solver", "N", "fwd+bwd", "peak mem", f"mem / mem(N={args.train_N[0]})", "N ratio"])

    print("\n## fdeint vs fdeint_adjoint, right-hand side an MLP 32→2048→32 on 16 states (abm)\n")
    rows = []
    for N in args.adjoint_N:
        plain = measure("solvers:adjoint_case", dict(solver="fdeint", N=N), 1, threads=1)
        adjoint = measure("solvers:adjoint_case", dict(solver="fdeint_adjoint", N=N), 1, threads=1)
        rows.append(
            {
                "N": N,
                "fdeint peak": fmt_mb(plain["peak_mb"]),
                "adjoint peak": fmt_mb(adjoint["peak_mb"]),
                "memory saved": ratio(plain["peak_mb"], adjoint["peak_mb"]),
                "fdeint time": fmt_time(plain["time_s"]),
                "adjoint time": fmt_time(adjoint["time_s"]),
                "dα equal": str(plain["alpha_grad"] == adjoint["alpha_grad"]),
            }
        )
    print_table(rows, ["N", "fdeint peak", "adjoint peak", "memory saved", "fdeint time", "adjoint time", "dα equal"])

    if not args.skip_orders:
        orders_table(args.order_N)


if __name__ == "__main__":
    main()
    sys.exit(0)
