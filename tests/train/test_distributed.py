"""fracneuron.train.distributed: two DDP processes train what one process does on the same global batch."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch

from fracneuron.train import TrainConfig
from fracneuron.train.models import build

from workers import ddp_worker


def _state(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_processes_match_one_process_on_the_same_global_batch(tmp_path, tiny):
    # lr high enough that both layers spike and every parameter moves within 6 steps
    options = tiny(tmp_path, alpha="learn=0.7", epochs=2, batch_size=20, limit_train=50, lr=0.02).to_dict()
    options.pop("ddp")
    torch.multiprocessing.spawn(ddp_worker, args=(2, _free_port(), options, str(tmp_path)), nprocs=2, join=True)
    ranks = [_state(tmp_path / f"rank{r}.pt") for r in range(2)]

    from fracneuron.train import distributed, loop
    from fracneuron.train.data import load

    config = TrainConfig(**options).validate()
    data = load(config.dataset, config.steps, config.limit_train, config.limit_test)
    start = build(config, data.inputs, data.classes)
    start(data.encode(data.x_train[:1]))  # gives the per-neuron α its shape
    initial = start.state_dict()
    single = loop.fit(loop.prepare(config, data, build(config, data.inputs, data.classes), distributed.setup(False, "cpu")))
    assert len(single.history) == 2 and loop.batch_count(50, 20, 2) == 3  # uneven last batch included
    for name, value in single.model.state_dict().items():
        assert not torch.allclose(value, initial[name]), name  # every parameter (α included) was trained
        assert torch.equal(ranks[0]["model"][name], ranks[1]["model"][name]), name  # ranks agree exactly
        assert torch.allclose(ranks[0]["model"][name], value, atol=1e-6, rtol=0), name
    for a, b in zip(ranks[0]["history"], single.history):
        assert a["train_acc"] == pytest.approx(b["train_acc"]) and a["test_acc"] == pytest.approx(b["test_acc"])
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-6)
