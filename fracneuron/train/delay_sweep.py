"""The delay sweep of ``docs/results.md``: recall accuracy against the delay, LIF vs learned α.

The same feed-forward network (the mlp with the membrane readout) on ``recall`` with delays D,
once with α = 1 (LIF) and once with a learned per-neuron α, over the seeds; the runs go through
:func:`fracneuron.train.sweep.run_all` (cached like every other row), and :func:`plot` draws
accuracy against D — the picture of where power-law memory wins.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from .files import atomic_write
from .sweep import Row

__all__ = ["DELAYS", "SETTINGS", "rows", "plot", "section"]

DELAYS = (5, 10, 25, 50, 100, 200, 400)
SETTINGS = (("LIF (α = 1)", "1", False), ("learned α (per neuron, from 0.8)", "learn=0.8", True))


def rows(delays: tuple[int, ...], framework: str, options: tuple = (), settings=SETTINGS) -> list[Row]:
    """One row per (delay, α setting); ``options`` are the other TrainConfig fields of every row."""
    return [
        Row("recall", framework, label, alpha, per, model="mlp", options=(("delay", d), *options),
            name=f"recall D={d}")
        for d in delays for label, alpha, per in settings
    ]


def _curve(results: dict[Row, list[dict]], label: str) -> tuple[list[int], list[float], list[float]]:
    chosen = sorted((dict(r.options)["delay"], runs) for r, runs in results.items() if r.label == label)
    means = [statistics.fmean(100 * m["final"]["test_acc"] for m in runs) for _, runs in chosen]
    stds = [statistics.stdev([100 * m["final"]["test_acc"] for m in runs]) if len(runs) > 1 else 0.0
            for _, runs in chosen]
    return [d for d, _ in chosen], means, stds


def plot(results: dict[Row, list[dict]], path: Path, cues: int, title: str) -> Path:
    """Accuracy (mean ± std over seeds) against the delay, one line per α setting, chance dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for (label, _, _), marker, color in zip(SETTINGS, "os", ("tab:blue", "tab:red")):
        delays, means, stds = _curve(results, label)
        ax.errorbar(delays, means, yerr=stds, marker=marker, color=color, capsize=3, label=label)
    ax.axhline(100 / cues, color="grey", ls=":", label=f"chance ({100 / cues:.0f} %)")
    ax.set(xscale="log", xlabel="delay D (steps of noise between cue and go)", ylabel="test accuracy (%)",
           ylim=(0, 102), title=title)
    ax.set_xticks(delays)
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="lower left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_write(path) as file:
            fig.savefig(file, format="png", dpi=110)
    finally:
        plt.close(fig)
    return path


def section(results: dict[Row, list[dict]], plot_path: str, epochs: int) -> list[str]:
    """The markdown of the sweep: where its plot is, and its numbers. (The page is also included
    into the site's Results page, from another folder, so the plot is named, not embedded.)"""
    first = next(iter(results.values()))[0]
    lines = ["## Delay sweep: recall, LIF vs learned α", "",
             f"Plotted (accuracy against delay) in `{plot_path}`, shown on the site's Results page and in the README.",
             "",
             f"{first['architecture']}; {epochs} epochs per run, the same for every delay and both rows; "
             f"{first['config']['framework']}.", "",
             "| delay D | steps T | " + " | ".join(label for label, *_ in SETTINGS) + " |", "|---|---|---|---|"]
    curves = {label: _curve(results, label) for label, *_ in SETTINGS}
    delays = curves[SETTINGS[0][0]][0]
    for i, d in enumerate(delays):
        cells = [f"{curves[label][1][i]:.1f} ± {curves[label][2][i]:.1f}" for label, *_ in SETTINGS]
        lines.append(f"| {d} | {d + 10} | " + " | ".join(cells) + " |")
    return [*lines, ""]
