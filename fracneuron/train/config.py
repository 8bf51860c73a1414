"""What one training run is: every option of ``fracneuron train``, its default and its check.

A :class:`TrainConfig` is built from the command line (:mod:`fracneuron.train.cli`) or in Python
(the results sweep, the tests) and validated once by :meth:`TrainConfig.validate`, which raises
:class:`ConfigError` with a one-line message naming the option and what it allows. Nothing after
validation needs to second-guess the user's input.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass, field

from .._checks import check_alpha_list

__all__ = [
    "ConfigError", "AlphaSpec", "TrainConfig", "parse_alpha", "DATASETS", "FRAMEWORKS", "MODELS", "READOUTS",
    "MODEL_FIELDS", "AUTO_SOE_STEPS",
]

DATASETS = ("mnist1d", "digits", "sdigits", "psdigits", "recall")
FRAMEWORKS = ("spikingjelly", "snntorch", "native")
MODELS = ("mlp", "recurrent", "conv")
READOUTS = ("auto", "mean", "membrane")
#: the sequence length each dataset uses when ``--T`` is not given (recall: 5 + delay + 5)
DEFAULT_T = {"mnist1d": 40, "digits": 16, "sdigits": 64, "psdigits": 64}
#: datasets whose length is fixed by the data (``--T`` does not apply)
FIXED_LENGTH = ("sdigits", "psdigits", "recall")
#: ``--memory auto`` takes the sum-of-exponentials engine from this many steps on (else exact)
AUTO_SOE_STEPS = 300
#: bounds of recall's options (a longer delay is a bigger, not a different, experiment)
MAX_DELAY, MAX_CUES = 10_000, 64
#: options that define the model and the data; a resumed run must not change them
MODEL_FIELDS = (
    "dataset", "framework", "model", "readout", "alpha", "coefficients", "per_neuron", "memory", "memory_options",
    "hidden", "layers", "tau", "T", "delay", "cues", "seed", "batch_size", "lr", "clip", "limit_train", "limit_test",
)


class ConfigError(ValueError):
    """A bad option: the message is one line, fit to print as ``fracneuron train: error: ...``."""


@dataclass(frozen=True)
class AlphaSpec:
    """The fractional order of every neuron layer: one or several terms, fixed or learned.

    ``values`` holds one α per term (the initial value when learned); ``learn`` trains them.
    """

    values: tuple[float, ...]
    learn: bool = False

    @property
    def is_lif(self) -> bool:
        """The plain integer-order LIF (fixed single-term α = 1): the model is left untouched."""
        return not self.learn and self.values == (1.0,)

    def kwarg(self) -> float | list[float]:
        """``alpha=`` as fracneuron's API takes it: a float, or a list for multi-term."""
        return self.values[0] if len(self.values) == 1 else list(self.values)

    def __str__(self) -> str:
        text = ",".join(f"{a:g}" for a in self.values)
        return f"learn (from {text})" if self.learn else text


#: where a learned α starts when ``--alpha learn`` gives no value
LEARN_START = 0.8


def parse_alpha(text: str) -> AlphaSpec:
    """``"0.6"`` · ``"0.3,0.9"`` (multi-term) · ``"learn"`` · ``"learn=0.5"`` → :class:`AlphaSpec`."""
    text = str(text).strip()
    learn = False
    if text == "learn" or text.startswith("learn="):
        learn = True
        text = text[len("learn="):] if "=" in text else str(LEARN_START)
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            f"--alpha must be a float in (0, 1], a comma list of floats or 'learn[=START]', got {text!r}"
        ) from None
    for a in values:
        if math.isnan(a) or not 0.0 < a <= 1.0:
            raise ConfigError(f"--alpha must be in (0, 1], got {a:g}")
    return AlphaSpec(values, learn)


@dataclass
class TrainConfig:
    """Every option of one run (the command-line flags, ``-`` written ``_``)."""

    dataset: str = "mnist1d"
    framework: str = "spikingjelly"
    model: str = "mlp"
    readout: str = "auto"  # mean over T, or the membrane readout (auto: membrane for recall)
    alpha: str = "learn"
    coefficients: list[float] | None = None
    per_neuron: bool = True  # a learned single-term α: one per neuron (False: one per layer)
    memory: str = "auto"  # auto: soe from AUTO_SOE_STEPS steps on, else exact
    memory_options: dict = field(default_factory=dict)
    epochs: int = 6
    batch_size: int = 64
    lr: float = 1e-2
    hidden: int = 128
    layers: int = 2
    tau: float = 2.0
    T: int | None = None
    delay: int = 100  # recall: noisy steps between the cue and the go signal
    cues: int = 4  # recall: number of cues (classes)
    clip: float | None = None  # gradient clipping: max global gradient norm
    seed: int = 0
    device: str = "auto"
    threads: int = 1  # torch CPU threads: these small per-step kernels run fastest on one
    out: str | None = None
    save: str | None = None
    resume: str | None = None
    ddp: bool = False
    limit_train: int | None = None
    limit_test: int | None = None
    progress: bool = True
    plots: bool = True

    # ---------------------------------------------------------------- derived
    @property
    def alpha_spec(self) -> AlphaSpec:
        return parse_alpha(self.alpha)

    @property
    def alpha_per_neuron(self) -> bool:
        """One α per neuron: only a learned single-term α (a fixed α is the same for every neuron
        anyway; a multi-term α is learned per layer)."""
        spec = self.alpha_spec
        return self.per_neuron and spec.learn and len(spec.values) == 1

    @property
    def steps(self) -> int:
        """Time steps per sample (``T``, or the dataset's default; recall: 5 + delay + 5)."""
        if self.dataset == "recall":
            from .recall import length

            return length(self.delay)
        return self.T if self.T is not None else DEFAULT_T[self.dataset]

    @property
    def memory_engine(self) -> str:
        """The history engine the run uses: ``--memory``, with ``auto`` resolved by the length."""
        if self.memory != "auto":
            return self.memory
        return "soe" if self.steps >= AUTO_SOE_STEPS else "exact"

    @property
    def readout_kind(self) -> str:
        """``mean`` or ``membrane`` (``auto``: membrane for recall, whose answer is due at the end)."""
        if self.readout != "auto":
            return self.readout
        return "membrane" if self.dataset == "recall" else "mean"

    @property
    def out_dir(self) -> str:
        if self.out is not None:
            return self.out
        alpha = self.alpha.replace(",", "+").replace("=", "")
        return f"runs/{self.dataset}-{self.framework}-alpha{alpha}-seed{self.seed}"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def model_dict(self) -> dict:
        """The options that define model and data (what a resumed run must keep)."""
        return {name: getattr(self, name) for name in MODEL_FIELDS}

    # ------------------------------------------------------------- validation
    def validate(self) -> "TrainConfig":
        """Raise :class:`ConfigError` on the first bad option; return ``self``."""
        _choice(self.dataset, DATASETS, "--dataset")
        _choice(self.framework, FRAMEWORKS, "--framework")
        _choice(self.model, MODELS, "--model")
        _choice(self.readout, READOUTS, "--readout")
        spec = parse_alpha(self.alpha)
        try:
            check_alpha_list(spec.kwarg(), self.coefficients)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"--alpha/--coefficients: {exc}") from None
        _integer(self.delay, "--delay", 1, MAX_DELAY)
        _integer(self.cues, "--cues", 2, MAX_CUES)
        if self.clip is not None and (isinstance(self.clip, bool) or not isinstance(self.clip, (int, float))
                                      or not (math.isfinite(self.clip) and self.clip > 0)):
            raise ConfigError(f"--clip must be a finite number > 0 (the largest gradient norm), got {self.clip!r}")
        if self.memory != "auto":
            _memory_name(self.memory)
        _memory_options(self.memory_engine, self.memory_options)
        for name in ("epochs", "batch_size", "hidden", "layers", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be an integer >= 1, got {value!r}")
        if self.T is not None and (isinstance(self.T, bool) or not isinstance(self.T, int) or self.T < 1):
            raise ConfigError(f"--T must be an integer >= 1, got {self.T!r}")
        if self.dataset in FIXED_LENGTH and self.T is not None:
            length = "5 + --delay + 5 steps" if self.dataset == "recall" else f"{DEFAULT_T[self.dataset]} steps"
            raise ConfigError(f"--T does not apply to --dataset {self.dataset}: its length is fixed ({length})")
        if self.dataset == "mnist1d" and self.T is not None and self.T < 8:
            raise ConfigError(f"--T for mnist1d is the sequence length and must be >= 8, got {self.T}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"--lr must be > 0, got {self.lr!r}")
        if not (self.tau > 1.0 and math.isfinite(self.tau)):
            # every framework runs the same neuron: snnTorch's decay β = 1 − 1/τ must lie in (0, 1)
            raise ConfigError(f"--tau must be > 1, got {self.tau!r}")
        for name in ("limit_train", "limit_test"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"--{name.replace('_', '-')} must be an integer >= 1, got {value!r}")
        if not (self.device == "auto" or self.device == "cpu" or self.device.startswith(("cuda", "mps"))):
            raise ConfigError(f"--device must be 'auto', 'cpu', 'cuda[:N]' or 'mps', got {self.device!r}")
        return self


def _choice(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {option} {value!r}; choose one of {', '.join(choices)}")


def _integer(value, option: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{option} must be an integer in [{low}, {high}], got {value!r}")


def _memory_name(name: str) -> None:
    from ..plugins import memories

    if name not in memories:
        raise ConfigError(f"unknown --memory {name!r}; choose one of auto, {', '.join(memories.names())}")


def _memory_options(name: str, options: dict) -> None:
    """Build the engine once with ``options``: its own checks (an unknown key, a value of the
    wrong type or out of range, an soe ``tol`` the fit cannot reach) then fail here, before any
    data is loaded, instead of at the first training step."""
    from ..plugins import memories

    if not isinstance(options, dict):
        raise ConfigError(f"--memory-option must be KEY=VALUE pairs, got {options!r}")
    factory = memories.get(name)
    try:
        factory(**options)
    except TypeError as exc:
        try:
            accepted = ", ".join(inspect.signature(factory).parameters) or "no options"
        except (TypeError, ValueError):  # a plugin's factory without a signature
            accepted = "?"
        raise ConfigError(f"--memory-option: memory {name!r} takes {accepted}; {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"--memory-option: {exc}") from None
