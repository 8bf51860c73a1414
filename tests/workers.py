"""Functions that child processes of the tests run. They live here, a module on the tests'
``pythonpath``, because a spawned child imports its function by module name, and a test file's own
name under ``--import-mode=importlib`` (``tests.train.test_…``) is importable only when the current
folder happens to be on ``sys.path`` (``python -m pytest``, not ``pytest``)."""

from __future__ import annotations

import os

import torch

from fracneuron.train import TrainConfig
from fracneuron.train.models import build


def ddp_worker(rank: int, world: int, port: int, options: dict, result_dir: str) -> None:
    """One DDP rank of a small training run; saves its final state and history to ``result_dir``."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from fracneuron.train import distributed, loop
    from fracneuron.train.data import load

    config = TrainConfig(**options, ddp=True).validate()
    ctx = distributed.setup(True, "cpu")
    try:
        data = load(config.dataset, config.steps, config.limit_train, config.limit_test)
        run = loop.prepare(config, data, build(config, data.inputs, data.classes), ctx)
        loop.fit(run)
        torch.save({"model": run.model.state_dict(), "history": run.history}, f"{result_dir}/rank{rank}.pt")
        distributed.wait_for_all(ctx)
    finally:
        distributed.close(ctx)
