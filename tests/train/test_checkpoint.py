"""fracneuron.train.checkpoint: --resume continues exactly like an uninterrupted run, inherits the
checkpoint's options, and writers sharing a checkpoint path never leave a reader a partial one.

Every run in tests/train/ is tiny (a few dozen samples, a handful of neurons and steps) so the
folder stays fast; the full-size behaviour is measured by ``scripts/results_table.py``.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from fracneuron.train import TrainConfig, train
from fracneuron.train.cli import config_from_args
from fracneuron.train.config import ConfigError


def _state(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path, tiny):
    common = dict(alpha="learn=0.7", epochs=3)
    train(tiny(tmp_path, save=str(tmp_path / "full.pt"), **common), echo=lambda *a: None)
    train(tiny(tmp_path, save=str(tmp_path / "part.pt"), **{**common, "epochs": 1}), echo=lambda *a: None)
    # the first run stopped after epoch 1 (its own --epochs); continue it to 3 from the checkpoint
    train(tiny(tmp_path, resume=str(tmp_path / "part.pt"), save=str(tmp_path / "part.pt"), **common), echo=lambda *a: None)
    full, resumed = _state(tmp_path / "full.pt"), _state(tmp_path / "part.pt")
    assert resumed["epoch"] == full["epoch"] == 3
    for name, value in full["model"].items():
        assert torch.equal(value, resumed["model"][name]), name
    assert any("alpha" in name for name in full["model"])  # the learned α is part of the state
    for p_full, p_res in zip(full["optimizer"]["state"].values(), resumed["optimizer"]["state"].values()):
        assert all(torch.equal(p_full[k], p_res[k]) for k in p_full)
    strip = lambda h: [{k: v for k, v in r.items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(full["history"]) == strip(resumed["history"])
    assert torch.equal(full["torch_rng"], resumed["torch_rng"])


def test_resume_inherits_the_checkpoint_options_and_refuses_changes(tmp_path, tiny):
    train(tiny(tmp_path, save=str(tmp_path / "run.pt"), alpha="0.4"), echo=lambda *a: None)
    parser = _train_parser()
    config = config_from_args(parser.parse_args(["--resume", str(tmp_path / "run.pt"), "--epochs", "2"]))
    assert (config.alpha, config.hidden, config.T, config.epochs) == ("0.4", 16, 6, 2)
    with pytest.raises(ConfigError, match="--alpha"):
        config_from_args(parser.parse_args(["--resume", str(tmp_path / "run.pt"), "--alpha", "0.9"]))


def _train_parser():
    import argparse

    from fracneuron.train.cli import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser


def _leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for folder in folders if folder.exists() for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writers_sharing_a_checkpoint_path_never_fail_and_a_reader_always_sees_a_whole_one(tmp_path):
    """Two runs saving to one --save path while a third reads it: each writer has its own
    temporary file, and the rename is atomic, so every load is one writer's complete state."""
    from fracneuron.train import checkpoint

    path = tmp_path / "shared.pt"
    config = TrainConfig()

    def save(marker: int) -> None:
        model = torch.nn.Linear(256, 256)
        torch.nn.init.constant_(model.weight, float(marker))
        optimizer = torch.optim.Adam(model.parameters())
        checkpoint.save(path, config=config, epoch=marker, model=model, optimizer=optimizer,
                        history=[{"epoch": e + 1} for e in range(marker)])

    save(1)
    failures: list[BaseException] = []

    def writer(marker: int) -> None:
        try:
            for _ in range(60):
                save(marker)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(marker,)) for marker in (1, 2)]
    for thread in threads:
        thread.start()
    loads = []
    for _ in range(150):
        state = checkpoint.load(path)
        loads.append((state["epoch"], float(state["model"]["weight"].min()), float(state["model"]["weight"].max())))
    for thread in threads:
        thread.join()
    assert failures == []
    assert all(epoch in (1, 2) and low == high == epoch for epoch, low, high in loads), loads
    assert _leftovers(tmp_path) == []
