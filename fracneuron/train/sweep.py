"""The results table of ``docs/results.md``: LIF vs fractional vs learned α, every framework at α = 1.

Grid, per task — a dataset with a model and its options (same architecture, epochs, batch size,
learning rate and options in every row of a task):

* in the chosen frameworks: α = 1 (LIF), fixed α = 0.5, learned α per neuron and per layer (from 0.8);
* the other frameworks at α = 1, to show the same network trains the same anywhere;

each for every seed. Each run is a normal :func:`fracneuron.train.runner.train` call whose
``metrics.json`` lands in ``WORK/<task>/<framework>-<model>-alpha<α>-seed<s>/``; a run whose
metrics already exist (same options) is not repeated, so an interrupted sweep picks up where it
stopped.

    python scripts/results_table.py            # writes docs/results.md (see its docstring for the time)
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from .config import FRAMEWORKS, TrainConfig

__all__ = ["Task", "Row", "grid", "run_all", "aggregate", "markdown", "REFERENCES", "SETTINGS"]

#: published MNIST-1D test accuracies (Greydanus & Kobak, 2020/2024, the package's README)
REFERENCES = (("logistic regression", 32), ("MLP", 68), ("CNN", 94), ("GRU", 91))

#: the α settings of the comparison: (label, --alpha, per_neuron)
SETTINGS = (
    ("LIF (α = 1)", "1", False),
    ("fractional α = 0.5", "0.5", False),
    ("learned α (per neuron, from 0.8)", "learn=0.8", True),
    ("learned α (per layer, from 0.8)", "learn=0.8", False),
)


@dataclass(frozen=True)
class Task:
    """A section of the table: ``dataset`` trained with ``model`` and ``options`` (further
    :class:`TrainConfig` fields as ``(name, value)`` pairs, e.g. ``(("delay", 200),)``)."""

    name: str
    dataset: str
    model: str = "mlp"
    options: tuple = ()


@dataclass(frozen=True)
class Row:
    """One line of the table: a task, a framework and an α setting, over the seeds."""

    dataset: str
    framework: str
    label: str
    alpha: str
    per_neuron: bool
    model: str = "mlp"
    options: tuple = ()
    name: str = ""  # the task's name (default: the dataset)

    @property
    def section(self) -> str:
        return self.name or self.dataset


def grid(tasks: list[str | Task], frameworks: list[str], settings=SETTINGS) -> list[Row]:
    """Every α setting in each of ``frameworks``; α = 1 in the other frameworks. A task given as
    a string is that dataset with the mlp."""
    rows = []
    for task in tasks:
        task = Task(task, task) if isinstance(task, str) else task
        common = dict(model=task.model, options=task.options, name=task.name)
        rows += [Row(task.dataset, fw, label, alpha, per, **common) for label, alpha, per in settings for fw in frameworks]
        rows += [Row(task.dataset, other, settings[0][0], "1", False, **common)
                 for other in FRAMEWORKS if other not in frameworks]
    return rows


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text)


def _config(row: Row, seed: int, epochs: dict[str, int], work: Path, base: dict) -> TrainConfig:
    alpha = row.alpha.replace("=", "") + ("-pn" if row.per_neuron and row.alpha.startswith("learn") else "")
    out = work / _slug(row.section) / f"{row.framework}-{row.model}-alpha{alpha}-seed{seed}"
    return TrainConfig(
        **{**base, **dict(row.options)}, dataset=row.dataset, framework=row.framework, model=row.model,
        alpha=row.alpha, per_neuron=row.per_neuron, seed=seed, epochs=epochs[row.section], out=str(out),
        progress=False, plots=False,
    ).validate()


def _cached(config: TrainConfig) -> dict | None:
    path = Path(config.out_dir) / "metrics.json"
    if not path.is_file():
        return None
    metrics = json.loads(path.read_text())
    saved = TrainConfig(**metrics["config"])
    same = saved.model_dict() == config.model_dict() and saved.epochs == config.epochs
    return metrics if same else None


def run_all(rows: list[Row], seeds: list[int], epochs: dict[str, int], work: Path, base: dict | None = None,
            echo=print) -> dict[Row, list[dict]]:
    """Train (or reuse) every run; returns the metrics per row, one per seed."""
    from .runner import train

    results: dict[Row, list[dict]] = {}
    total = len(rows) * len(seeds)
    done = 0
    for row in rows:
        for seed in seeds:
            done += 1
            config = _config(row, seed, epochs, work, base or {})
            metrics = _cached(config)
            status = "cached"
            if metrics is None:
                metrics = train(config, echo=lambda *a, **k: None)
                status = f"{metrics['seconds_per_epoch']:.1f} s/epoch"
            echo(
                f"[{done}/{total}] {row.section:16s} {row.framework:12s} {row.label:34s} seed {seed}: "
                f"test acc {metrics['final']['test_acc']:.1%} ({status})"
            )
            results.setdefault(row, []).append(metrics)
    return results


def _mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(runs: list[dict]) -> dict:
    """Mean ± std of the final test accuracy and of the seconds per epoch; final α (learned rows)."""
    acc = _mean_std([100 * m["final"]["test_acc"] for m in runs])
    sec = _mean_std([m["seconds_per_epoch"] for m in runs])
    alphas = [a for m in runs for layer in m["alpha"] for a in layer]
    return {"acc": acc, "sec": sec, "alpha": _mean_std(alphas) if alphas else None, "n": len(runs),
            "parameters": runs[0]["parameters"], "architecture": runs[0]["architecture"],
            "dataset": runs[0]["dataset"]}


def _pm(pair: tuple[float, float], digits: int = 1) -> str:
    return f"{pair[0]:.{digits}f} ± {pair[1]:.{digits}f}"


def markdown(results: dict[Row, list[dict]], *, frameworks: list[str], seeds: list[int], epochs: dict[str, int],
             command: str, base: dict, environment: str, intro: list[str] = (), extra: list[str] = ()) -> str:
    """docs/results.md, complete: ``intro`` paragraphs after the command, one section per task,
    ``extra`` lines (the delay sweep) before the α = 1 comparison."""
    stats = {row: aggregate(runs) for row, runs in results.items()}
    sections = list(dict.fromkeys(row.section for row in results))
    defaults = TrainConfig(**base)
    lines = [
        "# Results: fractional vs integer-order spiking networks",
        "",
        "Made by one command (it writes this file and the delay plot; every number below comes from it):",
        "",
        "```bash",
        command,
        "```",
        "",
        *[line for paragraph in intro for line in (paragraph, "")],
        f"Within a task every row trains the same network with the same budget (epochs, batch "
        f"{defaults.batch_size}, Adam with a cosine learning rate, the task's options), τ = {defaults.tau:g} "
        f"(β = {1 - 1 / defaults.tau:g}) unless a task's options set another, hard reset to 0, arctan surrogate. "
        "Test accuracy after the last epoch, "
        f"mean ± std over seeds {', '.join(map(str, seeds))} (seeds change the initial weights and the batch "
        "order; the train/test split is fixed). Seconds per epoch: training time only, on the machine of the "
        "Environment line; on a machine shared with other jobs the ± shows their interference, so compare "
        "timings with care.",
        "",
        f"Environment: {environment}",
        "",
    ]
    for section in sections:
        rows = [row for row in results if row.section == section and row.framework in frameworks]
        first = stats[rows[0]]
        options = ", ".join(f"{k} {v}" for k, v in rows[0].options)
        lines += [f"## {section}", "", f"{first['dataset']}. Network: {first['architecture']}. Budget: "
                  f"{epochs[section]} epochs{', ' + options if options else ''}.", ""]
        lines += ["| model | framework | test accuracy (%) | s / epoch | α after training | parameters |",
                  "|---|---|---|---|---|---|"]
        for row in rows:
            s = stats[row]
            alpha = "1" if s["alpha"] is None else _pm(s["alpha"], 3) if row.alpha.startswith("learn") else row.alpha
            lines.append(f"| {row.label} | {row.framework} | {_pm(s['acc'])} | {_pm(s['sec'])} | {alpha} | "
                         f"{s['parameters']:,} |")
        lines.append("")
        for fw in frameworks:
            mine = [r for r in rows if r.framework == fw]
            lines += [_verdict(stats, mine), ""]
            lines += [_learned_note(results[r], defaults.tau) + "\n" for r in mine
                      if r.alpha.startswith("learn") and r.per_neuron]
        if rows[0].dataset == "mnist1d":
            lines += [
                "Published MNIST-1D reference points (same 4000/1000 split; non-spiking models that see the "
                "whole sequence at once, except the GRU): "
                + ", ".join(f"{name} {acc} %" for name, acc in REFERENCES) + ".",
                "",
            ]
    lines += list(extra)
    lines += ["## α = 1 in every framework", "",
              "The same network at α = 1 written in each framework (identical initial weights for a seed; "
              "the feed-forward models compute the same function, see tests/train/test_models.py and "
              "tests/train/test_tasks_models.py).", "",
              "| task | " + " | ".join(FRAMEWORKS) + " |", "|---|" + "---|" * len(FRAMEWORKS)]
    for section in sections:
        cells = []
        for fw in FRAMEWORKS:
            row = next((r for r in results if r.section == section and r.framework == fw and r.alpha == "1"), None)
            cells.append(f"{_pm(stats[row]['acc'])} % ({_pm(stats[row]['sec'])} s/epoch)" if row else "—")
        lines.append(f"| {section} | " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def _learned_note(runs: list[dict], tau: float) -> str:
    """Where the learned orders went, per layer, pooled over the seeds."""
    parts, any_below = [], False
    for layer in range(len(runs[0]["alpha"])):
        values = [a for m in runs for a in m["alpha"][layer]]
        share = lambda test: sum(map(test, values)) / len(values)  # noqa: E731
        below = share(lambda a: a < 1 / tau)
        any_below |= below > 0
        parts.append(
            f"layer {layer + 1}: mean {statistics.fmean(values):.2f}, {share(lambda a: a <= 0.05):.0%} of the "
            f"neurons at α ≤ 0.05, {share(lambda a: a >= 0.95):.0%} at α ≥ 0.95, {below:.0%} below 1/τ"
        )
    text = f"{runs[0]['config']['framework']}, learned α (per neuron, pooled over seeds) — " + "; ".join(parts) + "."
    if any_below:
        text += (
            f" Below α = 1/τ = {1 / tau:g} the explicit step's weight on the last potential, α − 1/τ, is "
            "negative: such a neuron subtracts part of its last potential, closer to a change detector than "
            "to an integrator."
        )
    return text


def _verdict(stats: dict, rows: list[Row]) -> str:
    """One honest sentence: the best fractional row against LIF, with the seed spread."""
    lif = next(r for r in rows if r.alpha == "1")
    others = [r for r in rows if r is not lif]
    best = max(others, key=lambda r: stats[r]["acc"][0])
    (m_lif, s_lif), (m_best, s_best) = stats[lif]["acc"], stats[best]["acc"]
    gap = m_best - m_lif
    head = f"{lif.framework}: best fractional row {best.label} at {m_best:.1f} %, {gap:+.1f} points vs LIF ({m_lif:.1f} %)"
    if min(stats[lif]["n"], stats[best]["n"]) < 2:
        return head + ": one seed, so no seed spread to judge the gap by."
    noise = max(s_lif, s_best, 1e-9)
    if abs(gap) <= noise:
        verdict = "within seed noise of"
    elif gap > 0:
        verdict = "better than"
    else:
        verdict = "worse than"
    return f"{head}: {verdict} LIF (largest seed std {noise:.1f})."
