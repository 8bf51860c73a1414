"""What ``fracneuron train`` users may not do, and what they are told.

Each row is a command line (on top of a tiny run: digits, 32 samples, 8 neurons, 1 epoch) and the
part of the one line of error the user reads. Every row ends with exit status 2, exactly one line
``fracneuron train: error: ...`` on stderr, nothing on stdout, no traceback, no warning — and,
for the options and files below, before any training.
"""

from __future__ import annotations

import logging
import sys
import warnings

import pytest
import torch

from fracneuron.cli import main

BASE = [
    "train", "--dataset", "digits", "--framework", "native", "--epochs", "1", "--hidden", "8", "--T", "8",
    "--limit-train", "32", "--limit-test", "16", "--batch-size", "16", "--no-progress", "--no-plots",
]
LONG_NAME = "c" * 250 + ".pt"  # a legal path whose temporary file name is too long: fails even for root

#: (command line after BASE; {placeholders} are files made below, fragment of the error line, modules hidden)
ROWS = {
    # options
    "unknown dataset": (["--dataset", "cifar"], "unknown --dataset 'cifar'"),
    "unknown framework": (["--framework", "brian2"], "unknown --framework 'brian2'"),
    "framework not installed": (["--framework", "snntorch"], "--framework snntorch needs snntorch", ("snntorch",)),
    "alpha above 1": (["--alpha", "1.5"], "(0, 1]"),
    "alpha zero": (["--alpha", "0"], "(0, 1]"),
    "alpha not a number": (["--alpha", "half"], "--alpha"),
    "coefficient 0 with one alpha": (["--alpha", "0.5", "--coefficients", "0"], "coefficients[0] must be > 0 and finite, in (0, inf), got 0.0"),
    "coefficient nan with one alpha": (["--alpha", "0.5", "--coefficients", "nan"], "coefficients[0] must be > 0 and finite, in (0, inf), got nan"),
    "coefficient inf with one alpha": (["--alpha", "0.5", "--coefficients", "inf"], "coefficients[0] must be > 0 and finite, in (0, inf), got inf"),
    "coefficient -2 with one alpha": (["--alpha", "0.5", "--coefficients", "-2"], "coefficients[0] must be > 0 and finite, in (0, inf), got -2.0"),
    "coefficient inf in a list": (["--alpha", "0.3,0.9", "--coefficients", "1,inf"], "coefficients[1] must be > 0 and finite"),
    "coefficients of the wrong length": (["--alpha", "0.3,0.9", "--coefficients", "1"], "one entry per alpha term (2), got 1"),
    "ddp without torchrun": (["--ddp"], "torchrun"),
    # memory engines and their options
    "unknown memory": (["--memory", "magic"], "unknown --memory 'magic'"),
    "soe horizon inside the exact lags": (["--alpha", "0.5", "--memory", "soe", "--memory-option", "horizon=4"],
                                          "memory_options['horizon'] must be > memory_options['exact_lags'] (16), got 4"),
    "soe tol float64 cannot reach": (["--alpha", "0.5", "--memory", "soe", "--memory-option", "tol=1e-15"],
                                     "memory_options['tol'] must be in [9.4e-10, 0.1]"),
    "unknown memory option": (["--alpha", "0.5", "--memory", "soe", "--memory-option", "colour=red"],
                              "memory 'soe' takes tol, horizon, exact_lags, block"),
    "memory option of the wrong type": (["--alpha", "0.5", "--memory", "soe", "--memory-option", "horizon=many"],
                                        "memory_options['horizon'] must be an integer >= 1, got 'many'"),
    "window option out of range": (["--alpha", "0.5", "--memory", "window", "--memory-option", "window=0"], "window"),
    # where the run writes
    "out is a file": (["--out", "{file}"], "is a file"),
    "out under a file": (["--out", "{file}/sub"], "--out: '{file}/sub' cannot be created"),
    "out holds a folder named metrics.json": (["--out", "{blocked}"], "cannot write '{blocked}/metrics.json': it is a directory"),
    "save is a folder": (["--save", "{tmp}"], "is a directory"),
    "save under a file": (["--save", "{file}/run.pt"], "--save: '{file}' cannot be created"),
    "save name too long for the folder": (["--save", "{tmp}/" + LONG_NAME], "--save: cannot write"),
    # --resume of a file that is not a whole checkpoint of this model
    "resume a missing file": (["--resume", "{tmp}/nothing.pt"], "no checkpoint file"),
    "resume a file that is not a checkpoint": (["--resume", "{file}"], "is not a readable checkpoint"),
    "resume a truncated checkpoint": (["--resume", "{ckpt}/truncated.pt"], "is not a readable checkpoint"),
    "resume another format": (["--resume", "{ckpt}/other_format.pt"], "is not a fracneuron train checkpoint"),
    "resume without optimizer state": (["--resume", "{ckpt}/no_optimizer.pt"], "is an incomplete checkpoint: no 'optimizer'"),
    "resume without model and history": (["--resume", "{ckpt}/no_model.pt"], "no 'model', 'history'"),
    "resume an unknown config key": (["--resume", "{ckpt}/unknown_option.pt"], "its config has unknown options 'colour'"),
    "resume a bad config value": (["--resume", "{ckpt}/bad_config_value.pt"], "its config"),
    "resume a fractional epoch": (["--resume", "{ckpt}/epoch_float.pt"], "its 'epoch' must be an integer >= 0, got 1.5"),
    "resume an epoch given as text": (["--resume", "{ckpt}/epoch_text.pt"], "its 'epoch' must be an integer >= 0, got '1'"),
    "resume a negative epoch": (["--resume", "{ckpt}/epoch_negative.pt"], "its 'epoch' must be an integer >= 0, got -1"),
    "resume a history that disagrees with the epoch": (["--resume", "{ckpt}/short_history.pt"], "its history has 0 epochs"),
    "resume weights of another shape": (["--resume", "{ckpt}/weight_shape.pt"], "does not fit this model: 'net.0.weight' is (3, 3) in the checkpoint, (8, 64) in the model"),
    "resume optimizer state of another shape": (["--resume", "{ckpt}/optimizer_shape.pt"], "optimizer state 'exp_avg' has shape (3, 3)"),
    "resume with another model option": (["--resume", "{ckpt}/good.pt", "--hidden", "9"], "trained with --hidden 8"),
}


def _first_tensor_key(state: dict) -> str:
    return next(name for name, value in state["model"].items() if value.dim() == 2)


#: a good checkpoint changed in one way each: name -> change
CORRUPTIONS = {
    "other_format": lambda s: s.update(format="someone-else/1"),
    "no_optimizer": lambda s: s.pop("optimizer"),
    "no_model": lambda s: (s.pop("model"), s.pop("history")),
    "unknown_option": lambda s: s["config"].update(colour="red"),
    "bad_config_value": lambda s: s["config"].update(hidden="wide"),
    "epoch_float": lambda s: s.update(epoch=1.5),
    "epoch_text": lambda s: s.update(epoch="1"),
    "epoch_negative": lambda s: s.update(epoch=-1),
    "short_history": lambda s: s.update(history=[]),
    "weight_shape": lambda s: s["model"].update({_first_tensor_key(s): torch.zeros(3, 3)}),
    "optimizer_shape": lambda s: s["optimizer"]["state"][0].update(exp_avg=torch.zeros(3, 3)),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A checkpoint of a tiny run with BASE's options, and copies of it broken in each way."""
    folder = tmp_path_factory.mktemp("checkpoints")
    good = folder / "good.pt"
    assert main([*BASE, "--alpha", "0.5", "--out", str(folder / "run"), "--save", str(good)]) == 0
    for name, corrupt in CORRUPTIONS.items():
        state = torch.load(good, weights_only=True)
        assert state["model"][_first_tensor_key(state)].shape == (8, 64)  # what the rows name
        corrupt(state)
        torch.save(state, folder / f"{name}.pt")
    data = good.read_bytes()
    (folder / "truncated.pt").write_bytes(data[: len(data) // 2])
    return folder


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_bad_input_gives_one_line_and_exit_status_2(row, tmp_path, checkpoints, capsys, caplog, monkeypatch):
    flags, fragment, hidden = (*row, ()) if len(row) == 2 else row
    for module in hidden:
        monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "taken").write_text("not a directory")
    (tmp_path / "blocked" / "metrics.json").mkdir(parents=True)
    places = dict(file=tmp_path / "taken", blocked=tmp_path / "blocked", tmp=tmp_path, ckpt=checkpoints)
    argv = [*BASE, "--out", str(tmp_path / "out"), *[flag.format(**places) for flag in flags]]

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        code, out, err = _run(argv, capsys)

    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("fracneuron train: error: "), err
    assert fragment.format(**places) in lines[0], lines[0]
    assert "Traceback" not in err and out == ""
    assert not caught and not caplog.records, [str(w.message) for w in caught] + caplog.messages
    assert not (tmp_path / "out" / "metrics.json").exists()  # refused before the run, not after
