"""Shared benchmark harness: one case per fresh subprocess, time and peak memory, tables.

Each case runs in its own spawned process so that its peak memory is its own: on CPU the peak
resident set size above the process's size just before the case, on CUDA
``torch.cuda.max_memory_allocated``. Time is the median over repeats after one warm-up run. A
case whose timed runs take under ``SHORT_CASE_S`` (a few ms: one slow run on a shared machine moves a
median of 5) is run more often, about ``SHORT_CASE_BUDGET_S`` of runs (at most ``MAX_REPEATS``),
by the same rule for every case of a table, native and fractional alike.

The CPU peak is the kernel's high-water mark ``VmHWM``, reset in the case process just before the
case (``/proc/self/clear_refs``): ``getrusage``'s ``ru_maxrss`` survives fork and exec, so a case
started from a larger parent would report the parent's peak, not its own.

A benchmark script defines ``def case(**spec) -> Callable[[], dict | None]``: it builds the model
and inputs for ``spec`` and returns the function to time (whatever dict it returns, e.g. an error,
is added to the row).
"""

from __future__ import annotations

import importlib
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Sequence

__all__ = ["measure", "measure_rounds", "repeats_for", "print_table", "ratio", "fmt_time", "fmt_mb", "cost_columns"]

#: a case faster than this (its warm-up run) is timed over more repeats
SHORT_CASE_S = 0.02
#: about how long the repeats of a short case take together
SHORT_CASE_BUDGET_S = 0.5
MAX_REPEATS = 200


def repeats_for(run_s: float, repeats: int) -> int:
    """The repeats to time: ``repeats``, or for a short case (median of the first ``repeats``
    runs ``run_s``) enough to fill the budget."""
    if run_s >= SHORT_CASE_S:
        return repeats
    return max(repeats, min(MAX_REPEATS, math.ceil(SHORT_CASE_BUDGET_S / max(run_s, 1e-6))))


def _status_mb(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> None:
    """Restart the high-water mark VmHWM from the current resident size (Linux ≥ 4.0)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _child(target: str, spec: dict, repeats: int, threads: int | None) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    module_name, func_name = target.split(":")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    run = getattr(importlib.import_module(module_name), func_name)(**spec)
    cuda = spec.get("device", "cpu").startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = _status_mb("VmRSS")
        _reset_peak_rss()
    extra = run() or {}  # warm-up (and the peak-memory run)
    sync()
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if cuda else _status_mb("VmHWM") - base

    def timed() -> float:
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        return time.perf_counter() - t0

    times = [timed() for _ in range(repeats)]
    # a short case (judged by its timed runs, not the warm-up's one-time costs) runs on
    times += [timed() for _ in range(repeats_for(statistics.median(times), repeats) - repeats)]
    return {"time_s": statistics.median(times), "peak_mb": max(peak, 0.0), **extra}


def measure(target: str, spec: dict, repeats: int = 3, threads: int | None = None) -> dict:
    """Run ``module:function(**spec)`` in a fresh process; return time_s, peak_mb and extras."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_child, (target, spec, repeats, threads))


def measure_rounds(
    target: str, specs: Sequence[dict], repeats: int = 3, threads: int | None = None, rounds: int = 1
) -> list[dict]:
    """:func:`measure` each spec in turn, the whole list ``rounds`` times (interleaved, so a load
    that comes and goes on a shared machine hits every case alike); per spec, the first round's
    extras with the median time and peak over the rounds."""
    runs = [[] for _ in specs]
    for _ in range(rounds):
        for spec, results in zip(specs, runs):
            results.append(measure(target, spec, repeats, threads))
    return [
        {**results[0], "time_s": statistics.median(r["time_s"] for r in results),
         "peak_mb": statistics.median(r["peak_mb"] for r in results)}
        for results in runs
    ]


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "n/a"


def fmt_time(t: float) -> str:
    return f"{t * 1e3:.1f} ms" if t < 1 else f"{t:.2f} s"


def fmt_mb(m: float) -> str:
    return f"{m:.0f} MB"


def cost_columns(result: dict, base: dict, base_name: str) -> dict:
    """Time, peak memory and their ratios to ``base`` as table cells (``measure`` results)."""
    return {
        "fwd+bwd": fmt_time(result["time_s"]),
        "peak mem": fmt_mb(result["peak_mb"]),
        f"time / {base_name}": ratio(result["time_s"], base["time_s"]),
        f"mem / {base_name}": ratio(result["peak_mb"], base["peak_mb"]),
    }


def print_table(rows: Sequence[dict], columns: Sequence[str]) -> str:
    """Print (and return) a GitHub-markdown table of ``rows`` restricted to ``columns``."""
    cells = [[str(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |" for row in cells]
    text = "\n".join(lines)
    print(text, flush=True)
    return text
