"""Shared benchmark harness: one case per fresh subprocess, time and peak memory, tables.

Each case runs in its own spawned process so that its peak memory is its own: on CPU the peak
resident set size above the process's size just before the case, on CUDA
``torch.cuda.max_memory_allocated``. Time is the median over repeats after one warm-up run.

A benchmark script defines ``def case(**spec) -> Callable[[], dict | None]``: it builds the model
and inputs for ``spec`` and returns the function to time (whatever dict it returns, e.g. an error,
is added to the row).
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from collections.abc import Sequence

__all__ = ["measure", "print_table", "ratio", "fmt_time", "fmt_mb", "cost_columns"]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


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
        base = _rss_mb()
    extra = run() or {}  # warm-up (and the peak-memory run)
    sync()
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if cuda else _peak_rss_mb() - base
    times = []
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - t0)
    return {"time_s": statistics.median(times), "peak_mb": max(peak, 0.0), **extra}


def measure(target: str, spec: dict, repeats: int = 3, threads: int | None = None) -> dict:
    """Run ``module:function(**spec)`` in a fresh process; return time_s, peak_mb and extras."""
    ctx = mp.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(_child, (target, spec, repeats, threads))


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
