"""The new options of ``fracneuron train`` (issue 14): bad values are one line, ``--memory auto``
says what it chose."""

from __future__ import annotations

import pytest

from fracneuron.cli import main
from fracneuron.train import TrainConfig
from fracneuron.train.config import AUTO_SOE_STEPS

BASE = [
    "train", "--framework", "native", "--epochs", "1", "--hidden", "4", "--limit-train", "16", "--limit-test", "8",
    "--batch-size", "8", "--no-progress", "--no-plots",
]

ROWS = {
    "unknown model": (["--model", "lstm"], "unknown --model 'lstm'; choose one of mlp, recurrent, conv"),
    "unknown readout": (["--readout", "max"], "unknown --readout 'max'; choose one of auto, mean, membrane"),
    "unknown dataset": (["--dataset", "smnist"], "choose one of mnist1d, digits, sdigits, psdigits, recall"),
    "delay zero": (["--dataset", "recall", "--delay", "0"], "--delay must be an integer in [1, 10000], got 0"),
    "delay too long": (["--dataset", "recall", "--delay", "20000"], "--delay must be an integer in [1, 10000], got 20000"),
    "one cue": (["--dataset", "recall", "--cues", "1"], "--cues must be an integer in [2, 64], got 1"),
    "clip zero": (["--clip", "0"], "--clip must be a finite number > 0 (the largest gradient norm), got 0.0"),
    "clip negative": (["--clip", "-1"], "--clip must be a finite number > 0"),
    "clip nan": (["--clip", "nan"], "--clip must be a finite number > 0"),
    "T of a fixed-length task": (["--dataset", "sdigits", "--T", "32"],
                                 "--T does not apply to --dataset sdigits: its length is fixed (64 steps)"),
    "T of recall": (["--dataset", "recall", "--T", "32"], "its length is fixed (5 + --delay + 5 steps)"),
    "unknown memory lists auto": (["--memory", "magic"], "unknown --memory 'magic'; choose one of auto, exact"),
    "auto memory checks the chosen engine's options": (
        ["--dataset", "recall", "--delay", "400", "--alpha", "0.5", "--memory-option", "horizon=4"],
        "memory_options['horizon'] must be > memory_options['exact_lags']"),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_bad_value_of_a_new_option_is_one_line(row, tmp_path, capsys):
    flags, fragment = row
    code = main([*BASE, "--out", str(tmp_path / "out"), *flags])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == ""
    assert len(lines) == 1 and lines[0].startswith("fracneuron train: error: ") and fragment in lines[0], err


@pytest.mark.parametrize("delay, engine", [(50, "exact"), (AUTO_SOE_STEPS - 10, "soe"), (AUTO_SOE_STEPS - 11, "exact")])
def test_memory_auto_takes_soe_for_long_sequences(delay, engine):
    config = TrainConfig(dataset="recall", delay=delay).validate()
    assert config.steps == delay + 10 and config.memory_engine == engine
    assert TrainConfig(dataset="recall", delay=delay, memory="window").validate().memory_engine == "window"


def test_the_job_says_which_memory_auto_chose(tmp_path, capsys, single_thread):
    argv = [*BASE, "--dataset", "recall", "--delay", str(AUTO_SOE_STEPS), "--alpha", "0.5", "--hidden", "2",
            "--limit-train", "8", "--out", str(tmp_path)]
    assert main(argv) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert f"soe memory (--memory auto: T = {AUTO_SOE_STEPS + 10} >= {AUTO_SOE_STEPS})" in header, header


def test_readout_auto_reads_recall_at_the_end_and_the_rest_on_average():
    assert TrainConfig(dataset="recall").validate().readout_kind == "membrane"
    assert TrainConfig(dataset="mnist1d").validate().readout_kind == "mean"
    assert TrainConfig(dataset="mnist1d", readout="membrane").validate().readout_kind == "membrane"
