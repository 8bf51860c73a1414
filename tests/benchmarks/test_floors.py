"""benchmarks/floors.py: each measured part runs as the harness needs it (a run that returns
nothing), the per-step parts record what they claim, and an unknown part is refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import floors  # noqa: E402


@pytest.mark.parametrize("part", floors.PARTS)
def test_each_part_runs_and_returns_nothing(part):
    assert floors.case(part)() is None


def test_the_step_parts_add_one_recorded_node_each(monkeypatch):
    # count the autograd nodes each backward runs: the node step adds the custom node and its
    # addition to every step, the reset op one addcmul more
    seen, real = [], torch.Tensor.backward

    def backward(self, *args, **kwargs):
        nodes, stack = set(), [self.grad_fn]
        while stack:
            node = stack.pop()
            if node is not None and node not in nodes:
                nodes.add(node)
                stack.extend(next_node for next_node, _ in node.next_functions)
        seen.append(len(nodes))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "backward", backward)
    counts = {}
    for part in ("loop", "node step", "reset op"):
        floors.case(part)()
        counts[part] = seen.pop()
    steps = floors.T_LOOP
    assert counts["node step"] - counts["loop"] == 2 * steps
    assert counts["reset op"] - counts["node step"] == steps


def test_an_unknown_part_is_refused():
    with pytest.raises(ValueError, match="unknown part"):
        floors.case("everything")
