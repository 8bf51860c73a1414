"""``--save`` / ``--resume``: everything a run needs to continue exactly where it stopped.

A checkpoint holds the completed epoch count, the model's ``state_dict`` (learned α included:
it is a parameter), the optimizer state, torch's global RNG state, the per-epoch history and the
run's configuration. Batch order and spike encoding are drawn from generators seeded by
``(seed, epoch)`` (see :mod:`fracneuron.train.loop`), so a run resumed after epoch k sees exactly
the batches the uninterrupted run saw: resuming reproduces it to the last bit on the same machine.

The learning rate of an epoch follows the cosine schedule of the run's ``--epochs``: resuming an
interrupted run with the same ``--epochs`` reproduces it; resuming with more epochs stretches the
schedule from the saved epoch on.

Files are written atomically (temporary file, then rename) and read with ``weights_only=True``.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .config import ConfigError, TrainConfig

__all__ = ["save", "load", "check_compatible", "FORMAT"]

FORMAT = "fracneuron-train/1"


def save(path: str | os.PathLike, *, config: TrainConfig, epoch: int, model, optimizer, history: list[dict]) -> None:
    """Write the state after ``epoch`` completed epochs to ``path``."""
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
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> dict:
    """Read a checkpoint written by :func:`save`; :class:`ConfigError` if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--resume: no checkpoint file at {str(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise ConfigError(f"--resume: {str(path)!r} is not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ConfigError(f"--resume: {str(path)!r} is not a fracneuron train checkpoint")
    return state


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
