"""The benchmark harness measures each case's own peak memory (issue 11 item 17).

``ru_maxrss`` survives fork and exec, so a case spawned from a large parent used to report the
parent's peak; the harness now restarts the kernel's high-water mark in the case process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from harness import measure  # noqa: E402


def test_a_case_reports_its_own_peak_not_its_large_parents():
    parent = torch.ones(300 * 2**18)  # 300 MiB touched in this (parent) process
    parent[::1024] += 1
    small = measure("probe_case:case", {"mb": 8}, repeats=1, threads=1)
    large = measure("probe_case:case", {"mb": 120}, repeats=1, threads=1)
    assert small["peak_mb"] < 40  # its own 8 MiB (plus allocator slack), not the parent's 300
    assert 110 < large["peak_mb"] < 200
    del parent
