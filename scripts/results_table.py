"""Make docs/results.md: LIF vs fractional vs learned α on digits and MNIST-1D, 3 seeds.

    python scripts/results_table.py                            # the documented command (about 40 min on 2 cores)
    python scripts/results_table.py --frameworks spikingjelly,native   # α rows in both

Runs are kept in --work (default runs/sweep); finished runs are reused, so the command can be
interrupted and started again. See fracneuron/train/sweep.py for the grid.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
from pathlib import Path

import torch

from fracneuron.train import sweep
from fracneuron.train.config import DATASETS, FRAMEWORKS, TrainConfig

DEFAULT_EPOCHS = {"digits": 10, "mnist1d": 15}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default=TrainConfig().framework,
                        help="comma list: frameworks of the α rows (default: fracneuron train's default); "
                             f"the others of {', '.join(FRAMEWORKS)} run α = 1 only")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma list (default: mnist1d,digits)")
    parser.add_argument("--seeds", default="0,1,2", help="comma list of seeds")
    parser.add_argument("--epochs-digits", type=int, default=DEFAULT_EPOCHS["digits"])
    parser.add_argument("--epochs-mnist1d", type=int, default=DEFAULT_EPOCHS["mnist1d"])
    parser.add_argument("--work", default="runs/sweep", help="where each run's metrics.json is kept")
    parser.add_argument("--output", default="docs/results.md")
    args = parser.parse_args(argv)

    datasets = [d for d in args.datasets.split(",") if d]
    seeds = [int(s) for s in args.seeds.split(",")]
    epochs = {"digits": args.epochs_digits, "mnist1d": args.epochs_mnist1d}
    frameworks = [f for f in args.frameworks.split(",") if f]
    unknown = sorted(set(frameworks) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown --frameworks {', '.join(unknown)}; choose from {', '.join(FRAMEWORKS)}")
    rows = sweep.grid(datasets, frameworks)
    results = sweep.run_all(rows, seeds, epochs, Path(args.work))
    command = "python scripts/results_table.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    threads = next(iter(results.values()))[0]["config"]["threads"]
    environment = (
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()} CPU "
        f"({os.cpu_count()} cores), {threads} thread per run"
    )
    text = sweep.markdown(results, frameworks=frameworks, seeds=seeds, epochs=epochs, command=command,
                          base={}, environment=environment)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
