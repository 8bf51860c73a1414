"""``fracneuron train``: the command-line face of :func:`fracneuron.train.runner.train`.

Bad input (an unknown dataset, framework or memory, α outside (0, 1], a coefficient that is not
finite and > 0, a memory option the engine refuses, an ``--out`` or ``--save`` folder that cannot
be written, a ``--resume`` file that is not a whole checkpoint of this model, a missing optional
framework, ...) ends with one line ``fracneuron train: error: ...`` on stderr and exit status 2 —
never a traceback. Folders are checked before training; a file that still cannot be written at the
end (a full disk) gets the same one line and status 2, and leaves the previous file intact (see
:mod:`fracneuron.train.files`).

Flags left out take their defaults, or, with ``--resume``, the values the checkpoint was trained
with (so ``fracneuron train --resume run.pt --epochs 30`` continues a run without repeating it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from .config import AUTO_SOE_STEPS, DATASETS, FRAMEWORKS, LEARN_START, MODELS, READOUTS, ConfigError, TrainConfig
from .data import MissingDependency

__all__ = ["add_arguments", "run", "config_from_args"]

EXIT_BAD_INPUT = 2


def _memory_names() -> str:
    try:
        from ..plugins import memories

        return ", ".join(memories.names())
    except Exception:  # listing is for the help text only
        return "exact, window"


def _floats(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma list of numbers, got {text!r}") from None


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``fracneuron train`` (every default is ``None``: see :func:`config_from_args`)."""
    d = TrainConfig()
    parser.description = (
        "Train a (fractional) spiking network on offline data and write metrics.json and plots. "
        f"With no flags: {d.dataset}, {d.framework}, alpha {d.alpha}, {d.epochs} epochs."
    )
    add = parser.add_argument
    add("--dataset", help=f"{' | '.join(DATASETS)} (default {d.dataset})")
    add("--framework", help=f"{' | '.join(FRAMEWORKS)} (default {d.framework})")
    add("--model", help=f"{' | '.join(MODELS)}: feed-forward, recurrent spiking layers, or a causal temporal "
                        f"conv front end (default {d.model})")
    add("--readout", help=f"{' | '.join(READOUTS)}: mean of the output over time, or the last membrane of a "
                          "non-spiking integrator (auto: membrane for recall, else mean)")
    add("--delay", type=int, help=f"recall: noisy steps between cue and go signal (default {d.delay})")
    add("--cues", type=int, help=f"recall: number of cues, the classes (default {d.cues})")
    add("--clip", type=float, help="clip the gradient's global norm to this value (default: no clipping)")
    add("--alpha", help=f"fractional order in (0, 1]; a comma list for multi-term; 'learn' or 'learn=START' "
                        f"to train it (start {LEARN_START:g}); default {d.alpha}; 1 is the plain LIF")
    add("--coefficients", type=_floats, help="positive weights of the multi-term --alpha list")
    add("--per-neuron", action="store_const", const=True, help="a learned single-term alpha: one per neuron (default)")
    add("--per-layer", dest="per_neuron", action="store_const", const=False, help="a learned alpha: one per layer")
    add("--memory", help=f"history engine: auto, {_memory_names()} (default auto: soe from T = {AUTO_SOE_STEPS} "
                         "steps, else exact)")
    add("--memory-option", dest="memory_options", action="append", type=_option, metavar="KEY=VALUE",
        help="option of the memory engine, e.g. window=16 (repeatable)")
    add("--epochs", type=int, help=f"training epochs (default {d.epochs})")
    add("--batch-size", type=int, help=f"global batch size (default {d.batch_size})")
    add("--lr", type=float, help=f"Adam learning rate, cosine-annealed (default {d.lr:g})")
    add("--hidden", type=int, help=f"neurons per spiking layer (default {d.hidden})")
    add("--layers", type=int, help=f"spiking layers (default {d.layers})")
    add("--tau", type=float, help=f"membrane time constant tau > 1 (beta = 1 - 1/tau; default {d.tau:g})")
    add("--T", type=int, help="time steps: digits' rate-coding window (default 16), mnist1d's sequence length "
                              "(default 40); fixed for sdigits/psdigits (64) and recall (5 + delay + 5)")
    add("--seed", type=int, help=f"seed of the initial weights and the batch order (default {d.seed})")
    add("--device", help="auto | cpu | cuda[:N] | mps (default auto)")
    add("--threads", type=int, help=f"torch CPU threads per process (default {d.threads}: fastest for these small layers)")
    add("--out", help="output directory (default runs/DATASET-FRAMEWORK-alphaA-seedS)")
    add("--save", help="write a checkpoint here after every epoch")
    add("--resume", help="continue the run saved in this checkpoint")
    add("--ddp", action="store_const", const=True, help="DistributedDataParallel; launch with torchrun")
    add("--limit-train", type=int, help="use only the first N training samples (quick runs)")
    add("--limit-test", type=int, help="use only the first N test samples")
    add("--no-progress", dest="progress", action="store_const", const=False, help="no progress bars")
    add("--no-plots", dest="plots", action="store_const", const=False, help="no PNG plots")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The validated configuration: defaults, or the checkpoint's values under ``--resume``."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if "memory_options" in given:
        given["memory_options"] = dict(given["memory_options"])
    if not given.get("resume"):
        return TrainConfig(**given).validate()
    from . import checkpoint

    state = checkpoint.load(given["resume"])
    base = dict(state["config"])
    for key in ("resume", "save", "out", "ddp", "device", "progress", "plots"):
        base.pop(key, None)  # how to run, not what to train: never inherited
    config = TrainConfig(**{**base, **given}).validate()
    checkpoint.check_compatible(config, state)
    return config


def _quiet_missing_triton() -> None:
    """SpikingJelly registers its LIF kernels as torch ``triton_op``s when first used, and torch
    logs "Triton not available" for each on a machine without Triton (any CPU machine). The
    kernels fall back to torch there, so for the training job the line is noise; only that
    message is dropped, and only by this command."""
    logging.getLogger("torch._library.triton").addFilter(
        lambda record: "Triton not available" not in record.getMessage()
    )


def run(args: argparse.Namespace) -> int:
    """Run ``fracneuron train``; return the exit status."""
    _quiet_missing_triton()
    try:
        from .runner import train

        config = config_from_args(args)
        train(config)
    except (ConfigError, MissingDependency, OSError) as exc:  # OSError: a file that cannot be written
        message = " ".join(str(exc).split())  # one line, whatever the message held
        print(f"fracneuron train: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("fracneuron train: interrupted", file=sys.stderr)
        return 130
    return 0
