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


def test_short_cases_get_more_repeats_by_one_rule():
    from harness import MAX_REPEATS, SHORT_CASE_S, repeats_for

    assert repeats_for(0.3, 5) == 5 and repeats_for(SHORT_CASE_S, 5) == 5
    assert repeats_for(0.005, 5) == 100  # 0.5 s of 5 ms runs
    assert repeats_for(1e-9, 5) == MAX_REPEATS
    assert repeats_for(0.019, 50) == 50  # never fewer than asked
