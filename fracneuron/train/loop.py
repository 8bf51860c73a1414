r"""The training loop: Adam with a cosine learning rate, cross-entropy on the time-averaged readout.

Determinism. Epoch e shuffles the training set and draws its spike encodings from one generator
seeded by (seed, e); the test set is encoded once from a fixed generator. Batch order and inputs
are therefore a function of (seed, epoch) only: a resumed run, or a run on more processes, sees
the batches an uninterrupted single-process run sees. The learning rate of epoch e is
lr·(1 + cos(π e / epochs))/2, also a function of the epoch alone.

Per batch of global size b (``--batch-size``), each of the ``world`` ranks trains on its shard
with loss Σ_shard CE · world / b (see :mod:`fracneuron.train.distributed`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from . import checkpoint, distributed
from .config import TrainConfig
from .data import Dataset
from .models import fractional_orders

__all__ = [
    "Run", "prepare", "batches", "batch_count", "train_epoch", "evaluate", "fit", "epoch_lr", "alpha_summary",
]

EVAL_BATCH = 500
#: seed of the fixed spike encoding of the test set (independent of --seed)
TEST_ENCODING_SEED = 2024


@dataclass
class Run:
    """A model being trained: its optimizer, where it stands, and what happened so far."""

    config: TrainConfig
    data: Dataset
    model: nn.Module  # the bare model (what checkpoints and plots see)
    ctx: distributed.Context
    optimizer: torch.optim.Optimizer
    forward_model: nn.Module  # what the training loop calls: the DDP wrapper when distributed
    test_inputs: torch.Tensor  # [T, N_test, inputs], one fixed encoding
    epoch: int = 0  # completed epochs
    history: list[dict] = field(default_factory=list)


def prepare(config: TrainConfig, data: Dataset, model: nn.Module, ctx: distributed.Context) -> Run:
    """Move ``model`` to the device, build the optimizer, resume from ``config.resume``, wrap for DDP."""
    model.to(ctx.device)
    _materialize(model, data, ctx.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    epoch, history = 0, []
    if config.resume:
        state = checkpoint.load(config.resume)
        checkpoint.check_compatible(config, state)
        checkpoint.restore(state, model, optimizer, f"--resume: {config.resume!r}")
        epoch, history = state["epoch"], list(state["history"])
    test_inputs = data.encode(data.x_test, torch.Generator().manual_seed(TEST_ENCODING_SEED))
    wrapped = distributed.wrap(model, ctx)  # after loading: every rank starts from the same weights
    return Run(config, data, model, ctx, optimizer, wrapped, test_inputs, epoch, history)


def _materialize(model: nn.Module, data: Dataset, device: torch.device) -> None:
    """Give lazily shaped tensors (per-neuron α) their shape before the optimizer and DDP see them."""
    lazy = nn.parameter.UninitializedTensorMixin
    if any(isinstance(t, lazy) for t in (*model.parameters(), *model.buffers())):
        with torch.no_grad():
            model(data.encode(data.x_train[:1], torch.Generator().manual_seed(0)).to(device))


def epoch_lr(config: TrainConfig, epoch: int) -> float:
    """Cosine schedule from ``lr`` (epoch 0) towards 0 (after the last epoch)."""
    return config.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / config.epochs))


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(1_000_003 * seed + epoch)


def batch_count(n: int, batch_size: int, world: int) -> int:
    """Batches per epoch: the full ones, plus a last partial one if every rank gets a sample of it."""
    full, rest = divmod(n, batch_size)
    return full + (1 if rest >= world else 0)


def batches(n: int, batch_size: int, world: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches of ``batch_size`` (see :func:`batch_count`)."""
    order = torch.randperm(n, generator=generator)
    return list(order.split(batch_size))[: batch_count(n, batch_size, world)]


def train_epoch(run: Run, progress=None) -> dict:
    """One pass over the training set; returns ``{"train_loss", "train_acc", "seconds", "lr"}``."""
    config, data, ctx = run.config, run.data, run.ctx
    lr = epoch_lr(config, run.epoch)
    for group in run.optimizer.param_groups:
        group["lr"] = lr
    generator = _epoch_generator(config.seed, run.epoch)
    model = run.forward_model
    model.train()
    loss_sum = correct = seen = 0.0
    start = time.perf_counter()
    for index in batches(len(data.y_train), config.batch_size, ctx.world, generator):
        inputs = data.encode(data.x_train[index], generator)  # the whole global batch, same on every rank
        mine = distributed.shard(len(index), ctx)
        x = inputs[:, mine].to(ctx.device)
        y = data.y_train[index][mine].to(ctx.device)
        logits = model(x)
        batch_loss = F.cross_entropy(logits, y, reduction="sum")
        run.optimizer.zero_grad(set_to_none=True)
        (batch_loss * (ctx.world / len(index))).backward()
        if config.clip is not None:  # long sequences: one exploding batch must not wreck the weights
            nn.utils.clip_grad_norm_(run.model.parameters(), config.clip)
        run.optimizer.step()
        loss_sum += batch_loss.item()
        correct += (logits.argmax(1) == y).sum().item()
        seen += len(y)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.1%}", refresh=False)
    seconds = time.perf_counter() - start
    loss_sum, correct, seen = distributed.all_sum([loss_sum, correct, seen], ctx)
    return {"train_loss": loss_sum / seen, "train_acc": correct / seen, "seconds": seconds, "lr": lr}


@torch.no_grad()
def evaluate(run: Run) -> dict:
    """Loss and accuracy on the test set (each rank scores its shard; the sums are combined)."""
    ctx = run.ctx
    mine = distributed.shard(len(run.data.y_test), ctx)
    inputs, labels = run.test_inputs[:, mine], run.data.y_test[mine]
    model = run.model  # no gradient: the bare model avoids DDP's bookkeeping
    model.eval()
    loss_sum = correct = 0.0
    for start in range(0, len(labels), EVAL_BATCH):
        x = inputs[:, start : start + EVAL_BATCH].to(ctx.device)
        y = labels[start : start + EVAL_BATCH].to(ctx.device)
        logits = model(x)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(1) == y).sum().item()
    loss_sum, correct, seen = distributed.all_sum([loss_sum, correct, float(len(labels))], ctx)
    return {"test_loss": loss_sum / seen, "test_acc": correct / seen}


def alpha_summary(model: nn.Module) -> list[list[float]]:
    """The α values of every neuron layer (one list per layer; one value per neuron when per-neuron)."""
    return [order.alphas().detach().double().flatten().tolist() for order in fractional_orders(model)]


def fit(run: Run, on_epoch=None, progress_factory=None) -> Run:
    """Train from ``run.epoch`` to ``config.epochs``, evaluating and checkpointing after each epoch.

    ``on_epoch(run, record)`` is called on every rank after each epoch; ``progress_factory(run)``
    returns a tqdm-like bar for the epoch (or ``None``).
    """
    config = run.config
    while run.epoch < config.epochs:
        progress = progress_factory(run) if progress_factory else None
        try:
            record = {"epoch": run.epoch + 1, **train_epoch(run, progress)}
        finally:
            if progress is not None:
                progress.close()
        record.update(evaluate(run))
        record["alpha"] = alpha_summary(run.model)
        run.epoch += 1
        run.history.append(record)
        if config.save and run.ctx.is_main:
            checkpoint.save(
                config.save, config=config, epoch=run.epoch, model=run.model,
                optimizer=run.optimizer, history=run.history,
            )
        if on_epoch is not None:
            on_epoch(run, record)
    return run
