"""fracneuron.train.sweep: the results table aggregates seeds and says which row wins."""

from __future__ import annotations


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
