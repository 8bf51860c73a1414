r"""The offline datasets of ``fracneuron train`` and how each becomes a spike-ready sequence.

=========  ===========================================  ==========================  ===========
name       samples                                      encoding (T steps)          inputs/step
=========  ===========================================  ==========================  ===========
digits     scikit-learn ``load_digits``: 1797 8×8        rate (Poisson): pixel p/16  64
           images, 10 classes, stratified 80/20 split    fires with probability p/16
mnist1d    the ``mnist1d`` package's ``make_dataset``    the signal itself, one       1
           (generated from its templates, 5000          value per step (T = its
           samples, its own 4000/1000 split)            length, 40 by default)
sdigits    digits, same split, read one pixel per step      the pixel value p/16 as      1
           (row by row): the offline sequential MNIST       the step's input, T = 64
psdigits   sdigits under one fixed random permutation       as sdigits                   1
           of the 64 pixels (``PERMUTATION_SEED``,
           independent of ``--seed``): permuted MNIST
recall     :mod:`fracneuron.train.recall`: a cue among C,   the value itself,            C + 1
           D steps of noise, then "go"; 4000/1000 samples   T = 5 + D + 5
=========  ===========================================  ==========================  ===========

All ship with their packages: nothing is downloaded. Splits are fixed (they do not depend on
``--seed``), so seeds vary only the model's initialisation and the batch order.

Shapes: samples are ``[N, *features]``; :meth:`Dataset.encode` turns a batch ``[B, *features]``
into the time-major sequence ``[T, B, inputs]`` every model takes (SpikingJelly's multi-step
layout; the snnTorch model loops over its first dimension).
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["Dataset", "load", "MissingDependency"]

#: seed of the fixed digits split (independent of --seed)
SPLIT_SEED = 0
#: seed of psdigits' pixel permutation (independent of --seed: every run sees the same task)
PERMUTATION_SEED = 1234
#: seeds of recall's generated train and test sets (independent of --seed)
RECALL_SEEDS = (11, 12)
RECALL_SIZES = (4000, 1000)


class MissingDependency(ImportError):
    """An optional package the training job needs is not installed (message says what to install)."""


@dataclass
class Dataset:
    """A train/test split plus its spike encoding.

    ``x_train``/``x_test`` are float32 ``[N, *features]``; ``y_*`` are int64 ``[N]``.
    ``encoding`` is ``"rate"`` (Bernoulli spikes with the value as probability) or ``"direct"``
    (the value is the input current of each step).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    steps: int
    inputs: int
    classes: int
    encoding: str

    def encode(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """CPU ``[B, *features]`` → ``[T, B, inputs]`` (rate: random spikes drawn from ``generator``)."""
        if self.encoding == "direct":  # sequence: step t gets sample value t
            return x.reshape(x.shape[0], self.steps, self.inputs).transpose(0, 1).contiguous()
        probability = x.reshape(x.shape[0], self.inputs)
        draws = torch.rand((self.steps, *probability.shape), generator=generator, dtype=probability.dtype)
        return (draws < probability).to(probability.dtype)

    def describe(self) -> str:
        kind = "rate-coded" if self.encoding == "rate" else "one value per step"
        return (
            f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test, {self.classes} classes, "
            f"T={self.steps} ({kind}, {self.inputs} input{'s' if self.inputs > 1 else ''}/step)"
        )


def load(name: str, steps: int, limit_train: int | None = None, limit_test: int | None = None,
         *, delay: int = 100, cues: int = 4) -> Dataset:
    """The dataset ``name`` (see the table above) with ``steps`` time steps per sample (digits,
    mnist1d; the others have a fixed length); ``delay`` and ``cues`` shape ``recall``;
    ``limit_*`` keep only the first samples of each split (quick runs, tests)."""
    builders = {
        "digits": lambda: _digits(steps), "mnist1d": lambda: _mnist1d(steps),
        "sdigits": lambda: _sequential_digits(permuted=False), "psdigits": lambda: _sequential_digits(permuted=True),
        "recall": lambda: _recall(delay, cues),
    }
    data = builders[name]()
    if limit_train is not None:
        data.x_train, data.y_train = data.x_train[:limit_train], data.y_train[:limit_train]
    if limit_test is not None:
        data.x_test, data.y_test = data.x_test[:limit_test], data.y_test[:limit_test]
    return data


def _require(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(
            f"the {package} package is needed for this dataset; install it with pip install 'fracneuron[train]'"
        ) from None


@functools.lru_cache(maxsize=1)  # a sweep loads it for every run: the arrays are only read
def _digits_split() -> tuple:
    datasets = _require("sklearn.datasets", "scikit-learn")
    selection = _require("sklearn.model_selection", "scikit-learn")
    images, labels = datasets.load_digits(return_X_y=True)
    return selection.train_test_split(images / 16.0, labels, test_size=0.2, stratify=labels, random_state=SPLIT_SEED)


def _digits(steps: int) -> Dataset:
    x_train, x_test, y_train, y_test = _digits_split()
    return Dataset(
        "digits", _floats(x_train), _labels(y_train), _floats(x_test), _labels(y_test),
        steps=steps, inputs=64, classes=10, encoding="rate",
    )


def permutation() -> torch.Tensor:
    """psdigits' fixed order of the 64 pixels."""
    return torch.randperm(64, generator=torch.Generator().manual_seed(PERMUTATION_SEED))


def _sequential_digits(permuted: bool) -> Dataset:
    x_train, x_test, y_train, y_test = _digits_split()
    x_train, x_test = _floats(x_train), _floats(x_test)
    if permuted:
        order = permutation()
        x_train, x_test = x_train[:, order].contiguous(), x_test[:, order].contiguous()
    return Dataset(
        "psdigits" if permuted else "sdigits", x_train, _labels(y_train), x_test, _labels(y_test),
        steps=64, inputs=1, classes=10, encoding="direct",
    )


def _recall(delay: int, cues: int) -> Dataset:
    from . import recall

    (n_train, n_test), (seed_train, seed_test) = RECALL_SIZES, RECALL_SEEDS
    x_train, y_train = recall.make(n_train, delay, cues, seed_train)
    x_test, y_test = recall.make(n_test, delay, cues, seed_test)
    return Dataset(
        "recall", x_train, y_train, x_test, y_test,
        steps=recall.length(delay), inputs=cues + 1, classes=cues, encoding="direct",
    )


def _mnist1d(steps: int) -> Dataset:
    made = _mnist1d_arrays(steps)
    return Dataset(
        "mnist1d", _floats(made["x"]), _labels(made["y"]), _floats(made["x_test"]), _labels(made["y_test"]),
        steps=steps, inputs=1, classes=10, encoding="direct",
    )


@functools.lru_cache(maxsize=2)  # generating takes seconds; a sweep needs it for every run
def _mnist1d_arrays(steps: int) -> dict:
    data = _require("mnist1d.data", "mnist1d")
    args = data.get_dataset_args()
    args.final_seq_length = steps
    # make_dataset builds the samples from the package's templates (no download: that is only
    # get_dataset's path). It reseeds numpy's and Python's global generators; restore them.
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        made = data.make_dataset(args)
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return made


def _floats(array) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array), dtype=torch.float32).contiguous()


def _labels(array) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array), dtype=torch.int64).contiguous()
