"""One training run from a validated :class:`~fracneuron.train.config.TrainConfig` to its outputs.

``train(config)`` is what ``fracneuron train`` runs and what the results sweep calls in Python:
data → model → (resume) → epochs with progress → ``metrics.json`` and plots in ``config.out_dir``
→ summary. It raises :class:`~fracneuron.train.config.ConfigError` or
:class:`~fracneuron.train.data.MissingDependency` for bad input, before any training starts.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import torch

from . import distributed, files, plots, report
from .config import AUTO_SOE_STEPS, ConfigError, TrainConfig
from .data import MissingDependency, load
from .loop import Run, batch_count, fit, prepare
from .models import architecture, build, framework_check, parameter_count

__all__ = ["train"]


def train(config: TrainConfig, *, echo=print) -> dict:
    """Train as ``config`` says; return the metrics (on every rank; rank 0 writes the files).

    Sets torch's CPU thread count to ``config.threads`` for the process.
    """
    config.validate()
    _require_extras(config)
    framework_check(config.framework)
    out = _check_paths(config)
    torch.set_num_threads(config.threads)
    ctx = distributed.setup(config.ddp, config.device)
    try:
        result = _train(config, ctx, out, echo if ctx.is_main else (lambda *a, **k: None))
        distributed.wait_for_all(ctx)
        return result
    finally:
        distributed.close(ctx)


def _require_extras(config: TrainConfig) -> None:
    needed = {"mnist1d": "mnist1d", "recall": "torch"}.get(config.dataset, "sklearn")
    for module, wanted in ((needed, True), ("tqdm", config.progress), ("matplotlib", config.plots)):
        if not wanted:
            continue
        try:
            importlib.import_module(module)
        except ImportError:
            name = {"sklearn": "scikit-learn"}.get(module, module)
            raise MissingDependency(
                f"fracneuron train needs {name}, which is not installed (pip install 'fracneuron[train]')"
            ) from None


def _check_paths(config: TrainConfig) -> Path:
    """Check (and create) the output folder and the checkpoint's folder, and that every file the
    run will write can be written there: a problem is reported now, not after the training."""
    out = Path(config.out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file, not a directory")
    for option, value in (("--save", config.save), ("--resume", config.resume)):
        if value is not None and Path(value).is_dir():
            raise ConfigError(f"{option} {value!r} is a directory; give a file path such as run.pt")
    targets = [("--out", out / name) for name in ("metrics.json", *plots.file_names(config))]
    if config.save is not None:
        targets.append(("--save", Path(config.save)))
    for option, path in targets:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{option}: {str(path.parent)!r} cannot be created: {exc.strerror or exc}") from None
        try:
            files.check_writable(path)
        except OSError as exc:
            raise ConfigError(f"{option}: {exc}") from None
    return out


def _progress_factory(config: TrainConfig, ctx: distributed.Context):
    if not (config.progress and ctx.is_main):
        return None
    from tqdm.auto import tqdm

    def factory(run: Run):
        return tqdm(
            total=batch_count(len(run.data.y_train), config.batch_size, ctx.world),
            desc=f"epoch {run.epoch + 1}/{config.epochs}", unit="batch", leave=False, dynamic_ncols=True,
            file=sys.stderr,
        )

    return factory


def _train(config: TrainConfig, ctx: distributed.Context, out: Path, echo) -> dict:
    data = load(config.dataset, config.steps, config.limit_train, config.limit_test,
                delay=config.delay, cues=config.cues)
    try:
        model = build(config, data.inputs, data.classes)
    except (ValueError, TypeError) as exc:  # fracneuron's argument checks, e.g. an unsupported option
        raise ConfigError(f"cannot build the {config.framework} model: {exc}") from None
    run = prepare(config, data, model, ctx)
    arch = architecture(config, data.inputs, data.classes)
    params = parameter_count(model)
    memory = "" if config.alpha_spec.is_lif else f", {config.memory_engine} memory"
    if config.memory == "auto" and not config.alpha_spec.is_lif:
        memory += f" (--memory auto: T = {config.steps} {'>=' if config.memory_engine == 'soe' else '<'} {AUTO_SOE_STEPS})"
    echo(
        f"fracneuron train: {config.dataset} with {config.framework}, α {config.alpha_spec}{memory}, "
        f"seed {config.seed}, {ctx.device}" + (f" × {ctx.world} processes" if ctx.world > 1 else "")
    )
    echo(f"  data   {data.describe()}")
    echo(f"  model  {arch}: {params:,} parameters")
    if run.epoch:
        echo(f"  resumed from {config.resume} after epoch {run.epoch}")

    fit(
        run,
        on_epoch=lambda r, record: echo(report.epoch_line(record, config.epochs)),
        progress_factory=_progress_factory(config, ctx),
    )
    if not run.history:
        raise ConfigError("nothing to report: --epochs 0")

    outputs = [out / name for name in ("metrics.json", *plots.file_names(config))]
    result = report.metrics(
        config, run.history, dataset=data.describe(), architecture=arch, parameters=params,
        world=ctx.world, device=str(ctx.device), outputs=[str(p) for p in outputs],
    )
    if ctx.is_main:
        # metrics.json first: a failing plot (a full disk, say) must not cost the run's numbers
        report.write_metrics(result, out / "metrics.json")
        if config.plots:
            title = f"{config.dataset} · {config.framework} · α {config.alpha_spec} · seed {config.seed}"
            plots.write_all(model, data, config, run.history, out, title)
        final = result["final"]
        echo("\n" + report.summary_table(run.history))
        echo(
            f"\nfinal test accuracy: {final['test_acc']:.1%}  (best {result['best_test_acc']:.1%} at epoch "
            f"{result['best_epoch']}; chance {1 / data.classes:.0%}; {result['seconds_per_epoch']:.1f} s/epoch)"
        )
        echo("wrote " + ", ".join(result["outputs"]))
    return result
