"""fracneuron.train.runner: a small run writes its metrics and readable plots (loop, report and plots included)."""

from __future__ import annotations

import json

from fracneuron.cli import main


def test_small_run_writes_metrics_and_readable_plots(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([
        "train", "--dataset", "digits", "--framework", "native", "--alpha", "learn", "--epochs", "2",
        "--hidden", "16", "--T", "8", "--limit-train", "64", "--limit-test", "32", "--out", str(out), "--no-progress",
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "final test accuracy" in printed and "test acc" in printed  # the summary table
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["epoch"] == 2 and 0.0 <= metrics["final"]["test_acc"] <= 1.0
    assert len(metrics["history"]) == 2 and len(metrics["alpha"]) == 2
    for name in ("curves.png", "membrane.png", "alpha.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, name
