"""fracneuron.train.cli: a bad option is one line in a real process (the table of bad input is tests/test_bad_input_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]


TINY_ARGV = [
    "train", "--dataset", "digits", "--framework", "native", "--alpha", "0.5", "--epochs", "1", "--hidden", "8",
    "--T", "8", "--limit-train", "32", "--limit-test", "16", "--batch-size", "16", "--no-progress", "--no-plots",
]


def test_bad_option_is_one_line_in_a_real_process(tmp_path):
    """What a user's terminal shows (no logging or warning lines either); on main this was a
    95-line traceback after loading the data."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "adapters"), os.environ.get("PYTHONPATH", "")])}
    env.pop("RANK", None)
    proc = subprocess.run(
        [sys.executable, "-m", "fracneuron", *TINY_ARGV, "--memory", "soe", "--memory-option", "horizon=4"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "fracneuron train: error: --memory-option: memory_options['horizon'] must be > "
        "memory_options['exact_lags'] (16), got 4: the fit covers the lags after the exact ones, exact_lags+1 … horizon"
    ]
