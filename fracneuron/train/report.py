"""What a run tells its user: the per-epoch line, the summary table and ``metrics.json``."""

from __future__ import annotations

import json
import platform
import statistics
from importlib import metadata
from pathlib import Path

import torch

from .files import atomic_write

__all__ = ["format_alpha", "epoch_line", "summary_table", "metrics", "write_metrics"]


def format_alpha(alpha: list[list[float]]) -> str:
    """α per layer: ``0.5`` when every layer has the same single value, else one entry per layer
    (``mean±std`` for per-neuron α); ``-`` for a plain LIF model without fractional orders."""
    if not alpha:
        return "1 (LIF)"
    parts = []
    for values in alpha:
        if len(values) == 1:
            parts.append(f"{values[0]:.3g}")
        else:
            parts.append(f"{statistics.fmean(values):.3g}±{statistics.pstdev(values):.2g}")
    return parts[0] if len(set(parts)) == 1 else ", ".join(parts)


def epoch_line(record: dict, epochs: int) -> str:
    return (
        f"epoch {record['epoch']:>{len(str(epochs))}}/{epochs}  train loss {record['train_loss']:.3f}  "
        f"acc {record['train_acc']:6.1%}  |  test loss {record['test_loss']:.3f}  acc {record['test_acc']:6.1%}  |  "
        f"α {format_alpha(record['alpha'])}  |  {record['seconds']:.1f} s"
    )


def summary_table(history: list[dict]) -> str:
    """The per-epoch table printed at the end of a run."""
    header = ("epoch", "train loss", "train acc", "test loss", "test acc", "alpha", "s/epoch")
    rows = [
        (
            str(r["epoch"]), f"{r['train_loss']:.3f}", f"{r['train_acc']:.1%}", f"{r['test_loss']:.3f}",
            f"{r['test_acc']:.1%}", format_alpha(r["alpha"]), f"{r['seconds']:.1f}",
        )
        for r in history
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def metrics(config, history: list[dict], *, dataset: str, architecture: str, parameters: int,
            world: int, device: str, outputs: list[str]) -> dict:
    """Everything ``metrics.json`` records about a run."""
    final = history[-1]
    best = max(history, key=lambda r: r["test_acc"])
    framework = {"spikingjelly": "spikingjelly", "snntorch": "snntorch"}.get(config.framework, "fracneuron")
    return {
        "config": config.to_dict(),
        "dataset": dataset,
        "architecture": architecture,
        "parameters": parameters,
        "final": {k: final[k] for k in ("epoch", "train_loss", "train_acc", "test_loss", "test_acc")},
        "best_test_acc": best["test_acc"],
        "best_epoch": best["epoch"],
        "seconds_per_epoch": statistics.fmean(r["seconds"] for r in history),
        "alpha": final["alpha"],
        "history": history,
        "environment": {
            "fracneuron": _version("fracneuron"),
            "torch": torch.__version__,
            config.framework: _version(framework),
            "python": platform.python_version(),
            "device": device,
            "processes": world,
        },
        "outputs": outputs,
    }


def write_metrics(data: dict, path: Path) -> Path:
    """Write ``metrics.json`` atomically: a full disk leaves the previous file, never a partial one."""
    text = json.dumps(data, indent=2) + "\n"  # serialise first: a bad value must not cost the old file
    with atomic_write(path) as file:
        file.write(text.encode())
    return path
