"""Make docs/results.md and the delay plot: LIF vs fractional vs learned α on four tasks, 3 seeds.

    python scripts/results_table.py                     # the documented command (see BUDGET below)
    python scripts/results_table.py --seeds 0           # one seed: a third of the time
    python scripts/results_table.py --smoke --work /tmp/w --output /tmp/r.md --plot /tmp/d.png   # seconds

Tasks (each a section; every row of a task has the same network, options and epochs):

* mnist1d with the conv model (causal temporal conv front end, mean readout);
* psdigits (permuted sequential digits, 64 steps of one pixel) with the recurrent model and the
  membrane readout (the feed-forward mlp does not learn it: every row near chance);
* recall at D = 200 with the mlp and the membrane readout (chance 25 %);
* digits (rate-coded images) with the mlp: where fractional memory does not help;

and the delay sweep on recall (D = 5 … 400, LIF vs learned α, the plot). BUDGET: the epochs and
``--limit-train`` of each task are chosen so that the whole command, 3 seeds, runs in under two
hours on a 2-core machine (one thread per run, runs one after another); the page says which
limits each task used. Runs are kept in --work (default runs/sweep); finished runs are reused, so
the command can be interrupted and started again. Text below the NOTES marker of an existing
output page is kept. See fracneuron/train/sweep.py for the grid.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

from fracneuron.train import delay_sweep, sweep
from fracneuron.train.config import FRAMEWORKS, TrainConfig
from fracneuron.train.sweep import Task

#: recall's training options at every delay: a larger lr, clipped gradients, τ = 20 (LIF and fractional
#: alike; LIF stays at chance at D = 200 for τ = 10 … 100, and τ = 20 is where the fractional tail reaches D = 200)
RECALL = (("lr", 0.03), ("clip", 1.0), ("hidden", 64), ("limit_train", 1000), ("tau", 20.0))
#: recall's epochs (every delay): the learned-α rows at D = 200 leave chance after about 5
SWEEP_EPOCHS = 12
#: (task, epochs) of the documented command
TASKS = (
    (Task("mnist1d · conv", "mnist1d", "conv"), 8),
    # the mlp reads psdigits at ~30 % in every row (LIF and fractional, any τ): the recurrent model learns it;
    # 20 epochs, not fewer: learned α leads LIF by 9-10 points at 10 epochs, but LIF catches up by 20
    (Task("psdigits · recurrent", "psdigits", "recurrent", (("readout", "membrane"),)), 20),
    # named like the delay sweep's D = 200 point, which then reuses its LIF and learned-α runs
    (Task("recall D=200", "recall", "mlp", (("delay", 200), *RECALL)), SWEEP_EPOCHS),
    (Task("digits · mlp", "digits", "mlp"), 5),
)
#: the same grid in seconds: a few samples, a few neurons, one epoch
SMOKE_OPTIONS = (("hidden", 4), ("limit_train", 16), ("limit_test", 8), ("batch_size", 8))
SMOKE_DELAYS = (3, 6)
NOTES = "<!-- notes: the text below this line is written by hand and kept when the command re-makes the page -->"
PLOT = "docs/assets/results/recall_delay.png"


def _smoke(task: Task) -> Task:
    options = {**dict(task.options), **dict(SMOKE_OPTIONS)}
    name = task.name
    if task.dataset == "recall":
        options["delay"] = SMOKE_DELAYS[-1]
        name = f"recall D={SMOKE_DELAYS[-1]}"
    return Task(name, task.dataset, task.model, tuple(options.items()))


def _intro(tasks: list[tuple[Task, int]], smoke: bool) -> list[str]:
    limited = [f"{t.name}: {dict(t.options)['limit_train']} training samples"
               for t, _ in tasks if "limit_train" in dict(t.options)]
    text = ("Budgets are sized so that the command, all seeds, runs in under two hours on 2 CPU cores: "
            "fewer epochs than a converged run would take"
            + (f", and a subset of the training set ({'; '.join(limited)})" if limited else "") + ". "
            "Accuracies are therefore lower bounds for every row alike.")
    return ["**Smoke run** (tiny networks, a few samples, one epoch): it checks the command, not the models."
            if smoke else text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default=TrainConfig().framework,
                        help="comma list: frameworks of the α rows (default: fracneuron train's default); "
                             f"the others of {', '.join(FRAMEWORKS)} run α = 1 only")
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds")
    parser.add_argument("--work", default="runs/sweep", help="where each run's metrics.json is kept")
    parser.add_argument("--output", default="docs/results.md")
    parser.add_argument("--plot", default=PLOT, help="the delay-sweep PNG")
    parser.add_argument("--smoke", action="store_true", help="the same grid, tiny: checks the command in seconds")
    args = parser.parse_args(argv)

    frameworks = [f for f in args.frameworks.split(",") if f]
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown --frameworks {', '.join(unknown)}; choose from {', '.join(FRAMEWORKS)}")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds must be a comma list of integers, got {args.seeds!r}")
    tasks = [(_smoke(t), 1) for t, _ in TASKS] if args.smoke else list(TASKS)
    delays, sweep_epochs = (SMOKE_DELAYS, 1) if args.smoke else (delay_sweep.DELAYS, SWEEP_EPOCHS)
    sweep_options = tuple({**dict(RECALL), **(dict(SMOKE_OPTIONS) if args.smoke else {})}.items())

    epochs = {t.name: e for t, e in tasks}
    # the delay sweep first: the headline plot, and its D = 200 runs are the recall task's
    delay_rows = delay_sweep.rows(delays, frameworks[0], sweep_options)
    delay_results = sweep.run_all(delay_rows, seeds, {r.section: sweep_epochs for r in delay_rows}, Path(args.work))
    cues = TrainConfig().cues
    delay_sweep.plot(delay_results, Path(args.plot), cues, f"recall ({cues} cues): feed-forward SNN, {frameworks[0]}, "
                      f"τ = {dict(sweep_options).get('tau', TrainConfig().tau):g}")
    rows = sweep.grid([t for t, _ in tasks], frameworks)
    results = sweep.run_all(rows, seeds, epochs, Path(args.work))

    output = Path(args.output)
    command = "python scripts/results_table.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    environment = (
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()} CPU "
        f"({os.cpu_count()} cores), {TrainConfig().threads} thread per run"
    )
    text = sweep.markdown(results, frameworks=frameworks, seeds=seeds, epochs=epochs, command=command, base={},
                          environment=environment, intro=_intro(tasks, args.smoke),
                          extra=delay_sweep.section(delay_results, args.plot, sweep_epochs))
    kept = output.read_text().partition(NOTES)[2] if output.is_file() else ""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n" + NOTES + (kept or "\n"))
    print(f"wrote {output} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
