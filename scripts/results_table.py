"""Make docs/results.md: LIF vs fractional vs learned α on digits and MNIST-1D, 3 seeds.

    python scripts/results_table.py                       # the documented command (about 1-2 h on 2 cores)
    python scripts/results_table.py --framework native    # headline rows with fracneuron's own neurons

Runs are kept in --work (default runs/sweep); finished runs are reused, so the command can be
interrupted and started again. See fracneuron/train/sweep.py for the grid.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from pathlib import Path

import torch

from fracneuron.train import sweep
from fracneuron.train.config import DATASETS, FRAMEWORKS

DEFAULT_EPOCHS = {"digits": 10, "mnist1d": 15}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", default="spikingjelly", choices=FRAMEWORKS, help="framework of the α rows")
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
    rows = sweep.grid(datasets, args.framework)
    results = sweep.run_all(rows, seeds, epochs, Path(args.work))
    command = "python scripts/results_table.py" + "".join(
        f" {shlex.quote(a)}" for a in (argv if argv is not None else sys.argv[1:])
    )
    environment = (
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()} CPU, "
        f"{torch.get_num_threads()} threads"
    )
    text = sweep.markdown(results, framework=args.framework, seeds=seeds, epochs=epochs, command=command,
                          base={}, environment=environment)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
