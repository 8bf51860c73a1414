"""``--save`` / ``--resume``: everything a run needs to continue exactly where it stopped.

A checkpoint holds the completed epoch count, the model's ``state_dict`` (learned α included:
it is a parameter), the optimizer state, torch's global RNG state, the per-epoch history and the
run's configuration. Batch order and spike encoding are drawn from generators seeded by
``(seed, epoch)`` (see :mod:`fracneuron.train.loop`), so a run resumed after epoch k sees exactly
the batches the uninterrupted run saw: resuming reproduces it to the last bit on the same machine.

The learning rate of an epoch follows the cosine schedule of the run's ``--epochs``: resuming an
interrupted run with the same ``--epochs`` reproduces it; resuming with more epochs stretches the
schedule from the saved epoch on.

Files are written with :func:`fracneuron.train.files.atomic_write` (a temporary file of the
writer's own, fsync, one rename: a reader or a second run sharing the path sees a whole
checkpoint, old or new) and read with ``weights_only=True``. A file that is not a complete
checkpoint of this format — a missing entry, an unknown option in its configuration, a
non-integer epoch, a model or optimizer state that does not fit the model the configuration
builds — is refused with a one-line :class:`~fracneuron.train.config.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
from torch import nn

from .config import ConfigError, TrainConfig
from .files import atomic_write

__all__ = ["save", "load", "restore", "check_compatible", "FORMAT"]

FORMAT = "fracneuron-train/1"
#: every entry of a checkpoint: the type it must have, and how a message names that type
ENTRIES = {
    "format": (str, "a string"),
    "config": (dict, "a dict of options"),
    "epoch": (int, "an integer >= 0"),
    "model": (dict, "a state_dict"),
    "optimizer": (dict, "an optimizer state_dict"),
    "torch_rng": (torch.Tensor, "a tensor"),
    "history": (list, "a list of epochs"),
}


def save(path: str | os.PathLike, *, config: TrainConfig, epoch: int, model, optimizer, history: list[dict]) -> None:
    """Write the state after ``epoch`` completed epochs to ``path`` (atomically)."""
    state = {
        "format": FORMAT,
        "config": config.to_dict(),
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "history": history,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as file:
        torch.save(state, file)


def load(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save`; :class:`ConfigError` unless it is a whole one."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--resume: no checkpoint file at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise ConfigError(f"--resume: {str(path)!r} is not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ConfigError(f"--resume: {str(path)!r} is not a fracneuron train checkpoint")
    _check_structure(state, f"--resume: {str(path)!r}")
    return state


def _check_structure(state: dict, where: str) -> None:
    missing = [key for key in ENTRIES if key not in state]
    if missing:
        raise ConfigError(f"{where} is an incomplete checkpoint: no {', '.join(map(repr, missing))}")
    for key, (kind, description) in ENTRIES.items():
        value = state[key]
        if not isinstance(value, kind) or isinstance(value, bool) or (key == "epoch" and value < 0):
            shown = repr(value) if isinstance(value, (int, float, str)) else type(value).__name__
            raise ConfigError(f"{where}: its {key!r} must be {description}, got {shown}")
    if len(state["history"]) != state["epoch"]:
        raise ConfigError(
            f"{where}: its history has {len(state['history'])} epochs but its 'epoch' is {state['epoch']}"
        )
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(state["config"]) - known)
    if unknown:
        raise ConfigError(f"{where}: its config has unknown options {', '.join(map(repr, unknown))}")
    try:
        TrainConfig(**state["config"]).validate()
    except ConfigError as exc:
        raise ConfigError(f"{where}: its config is not valid: {exc}") from None
    except (TypeError, ValueError, AttributeError) as exc:  # a value of the wrong type
        raise ConfigError(f"{where}: its config holds a value of the wrong type ({exc})") from None


def restore(state: dict, model: nn.Module, optimizer: torch.optim.Optimizer, where: str) -> None:
    """Load the model, optimizer and RNG state of a checkpoint from :func:`load` into ``model``
    and ``optimizer``; :class:`ConfigError` when they do not fit (before anything trains)."""
    problem = _model_mismatch(model, state["model"])
    if problem:
        raise ConfigError(f"{where} does not fit this model: {problem}")
    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
    except (RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{where} does not fit this model: {' '.join(str(exc).split())}") from None
    for parameter, slots in optimizer.state.items():
        for name, value in slots.items():
            # Adam's moments have the parameter's shape (its step count is a scalar); a wrong
            # shape would fail only at the first optimizer step, deep in training
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != parameter.shape:
                raise ConfigError(
                    f"{where} does not fit this model: optimizer state {name!r} has shape "
                    f"{tuple(value.shape)} for a parameter of shape {tuple(parameter.shape)}"
                )


def _model_mismatch(model: nn.Module, saved: dict) -> str:
    """What keeps ``saved`` from loading into ``model`` (at most three items), or ''."""
    own = model.state_dict()
    problems = [f"missing {name!r}" for name in own if name not in saved]
    problems += [f"unexpected {name!r}" for name in saved if name not in own]
    for name, value in own.items():
        theirs = saved.get(name)
        if theirs is not None and (not isinstance(theirs, torch.Tensor) or theirs.shape != value.shape):
            shape = tuple(theirs.shape) if isinstance(theirs, torch.Tensor) else type(theirs).__name__
            problems.append(f"{name!r} is {shape} in the checkpoint, {tuple(value.shape)} in the model")
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def check_compatible(config: TrainConfig, state: dict) -> None:
    """Raise unless ``config`` trains the same model on the same data as the checkpoint did."""
    saved = TrainConfig(**state["config"]).model_dict()
    wanted = config.model_dict()
    for name, value in wanted.items():
        if saved.get(name) != value:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"--resume: the checkpoint was trained with {flag} {saved.get(name)!r}, this run asks for {value!r}"
            )
    if state["epoch"] > config.epochs:
        raise ConfigError(
            f"--resume: the checkpoint has already trained {state['epoch']} epochs; ask for --epochs >= {state['epoch']}"
        )
