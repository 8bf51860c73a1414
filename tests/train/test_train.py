"""fracneuron train: datasets, models, the loop, checkpoint/resume, DDP, the command line.

Every run here is tiny (a few dozen samples, a handful of neurons and steps) so the file stays
fast; the full-size behaviour is measured by ``scripts/results_table.py``.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from fracneuron.cli import main
from fracneuron.train import TrainConfig, train
from fracneuron.train import data as data_module
from fracneuron.train.cli import config_from_args
from fracneuron.train.config import ConfigError, parse_alpha
from fracneuron.train.models import build, fractional_orders

ROOT = Path(__file__).resolve().parents[2]


def tiny(tmp_path: Path, **overrides) -> TrainConfig:
    """A run that takes a second: digits, 64 samples, 16 neurons, 6 steps."""
    options = dict(
        dataset="digits", framework="native", alpha="0.6", epochs=1, batch_size=16, hidden=16, T=6,
        limit_train=64, limit_test=32, out=str(tmp_path / "out"), progress=False, plots=False,
    )
    options.update(overrides)
    return TrainConfig(**options)


def _state(path: Path) -> dict:
    return torch.load(path, weights_only=True)


# ------------------------------------------------------------------------- data
def test_mnist1d_is_generated_locally_without_download(monkeypatch):
    import mnist1d.data
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d tried to download")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(mnist1d.data, "get_dataset", no_network)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = data_module.load("mnist1d", 40)
    assert np.array_equal(np.random.get_state()[1], before)  # the global numpy generator is left alone
    assert (len(first.y_train), len(first.y_test)) == (4000, 1000)
    assert torch.bincount(first.y_train).min() >= 350 and abs(float(first.x_train.std()) - 1) < 0.05
    seq = first.encode(first.x_train[:5])
    assert seq.shape == (40, 5, 1)
    assert torch.equal(seq[:, 2, 0], first.x_train[2])  # step t carries sample value t


def test_digits_split_is_fixed_and_rate_coding_follows_the_pixels():
    a, b = data_module.load("digits", 200), data_module.load("digits", 200)
    assert torch.equal(a.x_train, b.x_train) and (len(a.y_train), len(a.y_test)) == (1437, 360)
    assert torch.bincount(a.y_test).min() >= 35  # stratified
    spikes = a.encode(a.x_train[:8], torch.Generator().manual_seed(0))
    assert spikes.shape == (200, 8, 64) and set(spikes.unique().tolist()) <= {0.0, 1.0}
    rate = spikes.mean(0)
    assert torch.allclose(rate, a.x_train[:8], atol=0.12)  # firing probability = pixel / 16
    assert torch.all(rate[a.x_train[:8] == 0] == 0)


# ----------------------------------------------------------------------- models
def test_alpha_one_is_the_same_network_in_every_framework():
    x = torch.randn(12, 4, 3)
    outputs, grads = {}, {}
    for framework in ("spikingjelly", "snntorch", "native"):
        config = TrainConfig(framework=framework, alpha="1", hidden=8, dataset="digits").validate()
        model = build(config, inputs=3, classes=5)
        out = model(x)
        out.square().sum().backward()
        outputs[framework] = out.detach()
        grads[framework] = [p.grad for p in model.parameters()]
        assert sum(p.numel() for p in model.parameters()) == 3 * 8 + 8 + 8 * 8 + 8 + 8 * 5 + 5
    for framework in ("snntorch", "native"):
        assert torch.equal(outputs[framework], outputs["spikingjelly"]), framework
        for g, ref in zip(grads[framework], grads["spikingjelly"]):
            assert torch.allclose(g, ref, atol=1e-6), framework


@pytest.mark.parametrize("alpha", ["0.6", "learn=0.7"])
def test_fractional_network_is_the_same_in_every_framework(alpha):
    # one fractionalize() call on the SpikingJelly / snnTorch model = the native fractional model
    # (needs the SpikingJelly and snnTorch adapters, issues 3 and 4)
    x = torch.randn(12, 4, 3)
    outputs, grads = {}, {}
    for framework in ("spikingjelly", "snntorch", "native"):
        config = TrainConfig(framework=framework, alpha=alpha, hidden=8, dataset="digits").validate()
        model = build(config, inputs=3, classes=5)
        out = model(x)
        out.square().sum().backward()
        outputs[framework] = out.detach()
        grads[framework] = sorted(
            (p.grad.double().norm().item() for p in model.parameters()), reverse=True
        )
        assert len(fractional_orders(model)) == 2, framework
    for framework in ("spikingjelly", "snntorch"):
        assert torch.allclose(outputs[framework], outputs["native"], atol=1e-6), framework
        assert grads[framework] == pytest.approx(grads["native"], rel=1e-4), framework


def test_native_model_takes_the_fractional_order_and_keeps_history_out_of_buffers():
    config = TrainConfig(framework="native", alpha="learn=0.7", per_neuron=True, hidden=8, dataset="digits").validate()
    model = build(config, inputs=3, classes=5)
    model(torch.randn(6, 2, 3))
    orders = fractional_orders(model)
    assert len(orders) == 2 and all(o.alphas().shape == (1, 8) for o in orders)
    assert all(torch.allclose(o.alphas(), torch.full((1, 8), 0.7, dtype=torch.float64)) for o in orders)
    # DDP broadcasts buffers: the engine's history must not be one (only the constant α may be)
    assert [name for name, _ in model.named_buffers()] == []
    fixed = build(TrainConfig(framework="native", alpha="0.5", hidden=8).validate(), inputs=3, classes=5)
    fixed(torch.randn(6, 2, 3))
    assert all(name.endswith("alpha_param") for name, _ in fixed.named_buffers())


@pytest.mark.parametrize(
    "text, values, learn",
    [("0.6", (0.6,), False), ("0.3,0.9", (0.3, 0.9), False), ("learn", (0.8,), True), ("learn=0.5", (0.5,), True)],
)
def test_alpha_option_forms(text, values, learn):
    spec = parse_alpha(text)
    assert (spec.values, spec.learn) == (values, learn)


# ------------------------------------------------------------------------- loop
def test_resume_continues_exactly_like_an_uninterrupted_run(tmp_path):
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


def test_resume_inherits_the_checkpoint_options_and_refuses_changes(tmp_path):
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


# -------------------------------------------------------------------------- DDP
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, options: dict, result_dir: str) -> None:
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


def test_ddp_two_processes_match_one_process_on_the_same_global_batch(tmp_path):
    # lr high enough that both layers spike and every parameter moves within 6 steps
    options = tiny(tmp_path, alpha="learn=0.7", epochs=2, batch_size=20, limit_train=50, lr=0.02).to_dict()
    options.pop("ddp")
    torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), options, str(tmp_path)), nprocs=2, join=True)
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


# ---------------------------------------------------------------- command line
def test_small_run_writes_metrics_and_readable_plots(tmp_path, capsys):
    out = tmp_path / "run"
    code = main([
        "train", "--dataset", "digits", "--framework", "native", "--alpha", "learn", "--epochs", "2",
        "--hidden", "16", "--T", "8", "--limit-train", "64", "--limit-test", "32", "--out", str(out), "--no-progress",
    ])
    assert code == 0
    printed = capsys.readouterr().out
    assert "final test accuracy" in printed and "test acc" in printed  # the summary table
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["final"]["epoch"] == 2 and 0.0 <= metrics["final"]["test_acc"] <= 1.0
    assert len(metrics["history"]) == 2 and len(metrics["alpha"]) == 2
    for name in ("curves.png", "membrane.png", "alpha.png"):
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000, name


# ------------------------------------------------------------ files of a run
# What users may not pass is the table of tests/test_bad_input_cli.py; here: one case in a real
# process, a full disk, an unwritable folder, and writers that share a checkpoint path.
TINY_ARGV = [
    "train", "--dataset", "digits", "--framework", "native", "--alpha", "0.5", "--epochs", "1", "--hidden", "8",
    "--T", "8", "--limit-train", "32", "--limit-test", "16", "--batch-size", "16", "--no-progress", "--no-plots",
]


def test_bad_option_is_one_line_in_a_real_process(tmp_path):
    """What a user's terminal shows (no logging or warning lines either); on main this was a
    95-line traceback after loading the data."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "adapters"), os.environ.get("PYTHONPATH", "")])}
    env.pop("RANK", None)
    proc = subprocess.run(
        [sys.executable, "-m", "fracneuron", *TINY_ARGV, "--memory", "soe", "--memory-option", "horizon=4"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "fracneuron train: error: --memory-option: memory_options['horizon'] must be > "
        "memory_options['exact_lags'] (16), got 4: the fit covers the lags after the exact ones, exact_lags+1 … horizon"
    ]


def _leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for folder in folders if folder.exists() for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("failing, error", [("fsync", errno.ENOSPC), ("replace", errno.EROFS)], ids=["ENOSPC", "EROFS"])
@pytest.mark.parametrize("with_checkpoint", [True, False], ids=["checkpoint", "metrics"])
def test_a_full_disk_is_one_line_and_keeps_the_previous_files(tmp_path, capsys, monkeypatch, failing, error, with_checkpoint):
    out, ckpt = tmp_path / "out", tmp_path / "ckpt" / "run.pt"
    argv = [*TINY_ARGV, "--out", str(out), *(["--save", str(ckpt)] if with_checkpoint else [])]
    assert main(argv) == 0
    before = {path: path.read_bytes() for path in (out / "metrics.json", ckpt) if path.exists()}
    capsys.readouterr()

    def fail(*args, **kwargs):
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(os, failing, fail)  # the disk fills up (or turns read-only) mid-run
    code = main(argv)
    err = capsys.readouterr().err
    first_write = ckpt if with_checkpoint else out / "metrics.json"
    assert code == 2
    assert err.splitlines() == [f"fracneuron train: error: cannot write {str(first_write)!r}: {os.strerror(error)}"]
    for path, content in before.items():
        assert path.read_bytes() == content, path  # the previous good file, whole
    assert _leftovers(out, ckpt.parent) == []


def test_an_out_folder_that_refuses_new_files_is_reported_before_training(tmp_path, capsys, monkeypatch):
    """EACCES/EROFS on an existing --out (simulated: as root no permission bit refuses a write)."""
    import tempfile

    out = tmp_path / "out"
    out.mkdir()
    real_mkstemp = tempfile.mkstemp

    def refuse_in_out(*args, dir=None, **kwargs):
        if Path(dir) == out:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", refuse_in_out)
    assert main([*TINY_ARGV, "--out", str(out)]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""  # nothing trained: the run header comes after the data is loaded
    assert printed.err.splitlines() == [
        f"fracneuron train: error: --out: cannot write {str(out / 'metrics.json')!r}: {os.strerror(errno.EACCES)}"
    ]


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


def test_written_files_get_the_usual_permissions(tmp_path):
    from fracneuron.train.files import atomic_write

    with atomic_write(tmp_path / "a.json") as file:
        file.write(b"{}")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


# ------------------------------------------------------------------ results table
def test_results_table_aggregates_seeds_and_says_which_row_wins():
    from fracneuron.train import sweep

    def fake(acc: float, seconds: float, alpha: list[list[float]]) -> dict:
        return {"final": {"test_acc": acc}, "seconds_per_epoch": seconds, "alpha": alpha, "parameters": 10,
                "architecture": "Linear(1,2)-LIF", "dataset": "mnist1d: toy", "config": {"framework": "native"}}

    rows = sweep.grid(["mnist1d"], ["native"])
    assert [r.framework for r in rows] == ["native"] * 4 + ["spikingjelly", "snntorch"]
    accs = {"1": (0.50, 0.52, 0.54), "0.8": (0.50, 0.51, 0.52), "0.5": (0.40, 0.41, 0.42), "learn=0.8": (0.60, 0.61, 0.62)}
    results = {r: [fake(a, 2.0, [] if r.alpha == "1" else [[0.7, 0.5]]) for a in accs[r.alpha]] for r in rows}
    text = sweep.markdown(results, frameworks=["native"], seeds=[0, 1, 2], epochs={"mnist1d": 3},
                          command="python scripts/results_table.py", base={}, environment="test")
    assert "| LIF (α = 1) | native | 52.0 ± 2.0 | 2.0 ± 0.0 | 1 |" in text
    assert "| learned α (per neuron, from 0.8) | native | 61.0 ± 1.0 |" in text
    assert "native: best fractional row learned α (per neuron, from 0.8) at 61.0 %, +9.0 points vs LIF" in text
    assert "better than LIF" in text and "layer 1: mean 0.60, 0% of the neurons at α ≤ 0.05" in text
    assert "GRU 91 %" in text and "python scripts/results_table.py" in text
