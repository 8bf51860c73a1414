"""benchmarks/vs_spikede.py without spikeDE: one line naming what is missing, exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import vs_spikede  # noqa: E402


def _only_missing(*names):
    return lambda name: None if name in names else object()


def test_missing_spikede_is_one_line_naming_how_to_get_it():
    line = vs_spikede.missing_peers(_only_missing("spikeDE"))
    assert "\n" not in line
    assert line.startswith("vs_spikede: not run, missing spikeDE")
    assert "github.com/PhysAGI/spikeDE" in line and "PYTHONPATH" in line
    assert "torchfde" not in line and "torchdiffeq" not in line


def test_each_missing_peer_is_named():
    line = vs_spikede.missing_peers(_only_missing("torchfde", "torchdiffeq"))
    assert "torchfde" in line and "pip install torchdiffeq" in line and "spikeDE (" not in line
    assert vs_spikede.missing_peers(_only_missing()) is None


def test_main_exits_2_before_running_anything(capsys):
    assert vs_spikede.main(["--T", "4"], find_spec=_only_missing("spikeDE")) == vs_spikede.MISSING_STATUS == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no table, no case was run
    assert captured.err.count("\n") == 1 and "missing spikeDE" in captured.err


def test_script_without_spikede_exits_nonzero_with_one_line():
    """The script as a user runs it, with spikeDE hidden (even where it is installed)."""
    hide = (
        "import sys, runpy; sys.modules['spikeDE'] = None; sys.argv = ['vs_spikede.py']; "
        f"runpy.run_path({str(ROOT / 'benchmarks' / 'vs_spikede.py')!r}, run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0 and "missing spikeDE" in done.stderr
