"""``scripts/results_table.py --smoke``: the one command of docs/results.md runs end to end (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_results_command_smoke_run_writes_the_page_and_the_delay_plot(tmp_path):
    output, plot = tmp_path / "docs" / "results.md", tmp_path / "docs" / "assets" / "delay.png"
    output.parent.mkdir(parents=True)
    output.write_text("old page\n<!-- notes: the text below this line is written by hand and kept when the command "
                      "re-makes the page -->\nMy notes.\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "adapters"), os.environ.get("PYTHONPATH", "")])}
    env.pop("RANK", None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "results_table.py"), "--smoke", "--seeds", "0",
         "--work", str(tmp_path / "work"), "--output", str(output), "--plot", str(plot)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    page = output.read_text()
    for section in ("## mnist1d · conv", "## psdigits · recurrent", "## recall D=6", "## digits · mlp",
                    "## Delay sweep: recall, LIF vs learned α", "## α = 1 in every framework"):
        assert section in page, section
    for label in ("LIF (α = 1)", "fractional α = 0.5", "learned α (per neuron, from 0.8)", "learned α (per layer, from 0.8)"):
        assert f"| {label} | spikingjelly |" in page, label
    assert "| parameters |" in page and "mean ± std over seeds 0 " in page
    assert "one seed, so no seed spread to judge the gap by." in page  # no verdict from a single seed
    assert f"Plotted (accuracy against delay) in `{plot}`" in page and "| 3 | 13 |" in page and "| 6 | 16 |" in page
    assert page.endswith("re-makes the page -->\nMy notes.\n") and "old page" not in page  # hand-written notes kept
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second call reuses every finished run
    again = subprocess.run(proc.args, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert again.returncode == 0 and again.stdout.count("(cached)") == again.stdout.count("seed ") > 0
