r"""The PNG figures of a run: training curves, membrane potentials at α = 1 vs the run's α, learned α.

The membrane figure shows what fractional memory does. It re-runs the first spiking layer's
neuron — as a native :class:`~fracneuron.train.models.LeakyNeuron`, the same equation every
framework's model uses — on the trained model's own first-layer input current for one test
sample, once with α = 1 (exponential forgetting) and once with the run's α (power-law memory),
and, beside it, the response of one neuron to a single input pulse on a log scale: a straight
line for α = 1 (v_n = β^n v_0), a slowly bending heavy tail for α < 1 (v ~ t^{-α} E_α-like).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .config import AlphaSpec, TrainConfig
from .data import Dataset
from .files import atomic_write
from .models import first_current, fractional_orders, leaky_neuron

__all__ = ["training_curves", "membrane_potentials", "learned_alpha", "file_names", "write_all"]

#: α shown against α = 1 when the run itself is the plain LIF
COMPARISON_ALPHA = 0.5
TRACES = 3
PULSE = 0.9  # below the threshold 1: the pulse response shows pure forgetting, no spike
PULSE_STEPS = 40


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path, **options) -> Path:
    """Write ``fig`` to ``path`` as a PNG, atomically (never a truncated image), and close it."""
    try:
        with atomic_write(path) as file:
            fig.savefig(file, format="png", dpi=110, **options)
    finally:
        _pyplot().close(fig)
    return path


def training_curves(history: list[dict], path: Path, title: str) -> Path:
    """Loss and accuracy, train and test, per epoch."""
    plt = _pyplot()
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_loss.plot(epochs, [r["train_loss"] for r in history], "o-", label="train")
    ax_loss.plot(epochs, [r["test_loss"] for r in history], "s-", label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.plot(epochs, [100 * r["train_acc"] for r in history], "o-", label="train")
    ax_acc.plot(epochs, [100 * r["test_acc"] for r in history], "s-", label="test")
    ax_acc.axhline(10, color="grey", ls=":", label="chance (10 %)")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy", ylim=(0, 100))
    for ax in (ax_loss, ax_acc):
        _integer_epochs(ax)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _integer_epochs(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _layer_order(model: nn.Module, config: TrainConfig) -> tuple[float | list[float] | torch.Tensor, str]:
    """The first layer's α as the run ended (a float, a multi-term list, or a per-neuron tensor
    [H]) and its legend label."""
    spec = config.alpha_spec
    orders = fractional_orders(model)
    if spec.is_lif or not orders:
        return COMPARISON_ALPHA, f"α = {COMPARISON_ALPHA:g} (for comparison)"
    alphas = orders[0].alphas().detach().double().cpu()
    learned = " (learned)" if spec.learn else ""
    if config.alpha_per_neuron:  # single-term (the config allows no other): [1, H] -> [H]
        return alphas.reshape(-1), "learned α (per neuron)"
    values = [float(a) for a in alphas.flatten()]
    return (values[0] if len(values) == 1 else values), "α = " + ", ".join(f"{a:.3g}" for a in values) + learned


def _simulate(current: torch.Tensor, alpha, config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Membrane v [T, K] (after reset) and spikes [T, K] of K native neurons driven by ``current``
    [T, K]; ``alpha`` a float, a multi-term list (with the run's coefficients) or a tensor [K]."""
    coefficients = config.coefficients if isinstance(alpha, list) else None
    neuron = leaky_neuron(
        config.tau, AlphaSpec((1.0,)), config, alpha=alpha, coefficients=coefficients,
        per_neuron_alpha=False, learn_alpha=False,
    ).double()
    neuron.step_mode = "s"
    potentials, spikes = [], []
    with torch.no_grad():
        for x in current.double().unsqueeze(1):  # [1, K] per step
            spikes.append(neuron(x)[0])
            potentials.append(neuron.v[0].clone())
    return torch.stack(potentials), torch.stack(spikes)


def membrane_potentials(model: nn.Module, data: Dataset, config: TrainConfig, path: Path) -> Path:
    """Pulse response (log scale) and first-layer membrane traces on a test sample, α = 1 vs the run's α."""
    plt = _pyplot()
    alpha, label = _layer_order(model, config)
    sample = data.encode(data.x_test[:1], torch.Generator().manual_seed(0))[:, 0]  # [T, inputs]
    with torch.no_grad():
        current = first_current(model, sample.unsqueeze(1))[:, 0].double().cpu()
    chosen = _pick_neurons(current, alpha, config)
    chosen_alpha = alpha[chosen] if isinstance(alpha, torch.Tensor) else alpha
    v_lif, s_lif = _simulate(current[:, chosen], 1.0, config)
    v_frac, s_frac = _simulate(current[:, chosen], chosen_alpha, config)

    fig = plt.figure(figsize=(13, 7.5))
    grid = fig.add_gridspec(TRACES + 1, 2, width_ratios=(1, 1.6), hspace=0.35, wspace=0.22)
    t = torch.arange(1, data.steps + 1)
    pulse = torch.zeros(max(data.steps, PULSE_STEPS), 1, dtype=torch.float64)
    pulse[0] = PULSE
    t_pulse = torch.arange(1, len(pulse) + 1)
    pulse_alpha = float(alpha.mean()) if isinstance(alpha, torch.Tensor) else alpha
    p_lif = _simulate(pulse, 1.0, config)[0][:, 0]
    p_frac = _simulate(pulse, pulse_alpha, config)[0][:, 0]
    ax_pulse = fig.add_subplot(grid[:, 0])
    pulse_label = f"mean learned α = {pulse_alpha:.2f}" if isinstance(alpha, torch.Tensor) else label
    _log_trace(ax_pulse, t_pulse, p_lif, "o", "tab:blue", "α = 1 (LIF): exponential")
    shape = "power law" if config.memory_engine in ("exact", "soe") else f"{config.memory_engine} memory"
    negative = _log_trace(ax_pulse, t_pulse, p_frac, "s", "tab:red", f"{pulse_label}: {shape}")
    if negative:
        ax_pulse.plot([], [], "s", mfc="white", color="tab:red", ms=4, label="open marker: |v| of a negative v")
    ax_pulse.set(
        yscale="log", ylim=(1e-4, 1.5), xlabel="time step", ylabel="membrane potential |v| (log scale)",
        title=f"memory of one input pulse ({PULSE:g} at step 1, no spike)",
    )
    ax_pulse.grid(alpha=0.3, which="both")
    ax_pulse.legend(loc="lower left", fontsize=9)

    ax_in = fig.add_subplot(grid[0, 1])
    _plot_input(ax_in, t, sample, data)
    for row, k in enumerate(chosen.tolist()):
        ax = fig.add_subplot(grid[row + 1, 1], sharex=ax_in)
        ax.plot(t, v_lif[:, row], color="tab:blue", lw=1.4, label="α = 1 (LIF)")
        ax.plot(t, v_frac[:, row], color="tab:red", lw=1.4, label=label)
        ax.axhline(1.0, color="grey", ls="--", lw=0.8, label="threshold")
        _spike_marks(ax, t, s_lif[:, row], 1.25, "tab:blue")
        _spike_marks(ax, t, s_frac[:, row], 1.4, "tab:red")
        own = f", α = {float(alpha[k]):.2f}" if isinstance(alpha, torch.Tensor) else ""
        ax.set_ylabel(f"neuron {k}{own}\nv", fontsize=9)
        ax.grid(alpha=0.3)
        if row == 0:
            ax.legend(loc="lower left", fontsize=8, ncol=3)
        if row == len(chosen) - 1:
            ax.set_xlabel("time step (ticks above: spikes)")
    fig.suptitle(
        f"first spiking layer on test sample 0 ({data.name}, label {int(data.y_test[0])}): "
        "exponential vs power-law memory"
    )
    return _save(fig, path, bbox_inches="tight")


def _log_trace(ax, t: torch.Tensor, v: torch.Tensor, marker: str, color: str, label: str) -> bool:
    """|v| for a log axis; negative values (the explicit scheme's undershoot for α < 1/τ) get open
    markers. Returns whether there were any."""
    magnitude = v.abs().clamp_min(1e-30)
    ax.plot(t, magnitude, "-", color=color, lw=1.4)
    ax.plot(t[v >= 0], magnitude[v >= 0], marker, color=color, ms=3.5, ls="none", label=label)
    ax.plot(t[v < 0], magnitude[v < 0], marker, color=color, ms=4, ls="none", mfc="white")
    return bool((v < 0).any())


def _pick_neurons(current: torch.Tensor, alpha, config: TrainConfig) -> torch.Tensor:
    """Neurons worth watching: among those that fire now and then (1 to T/3 spikes) under the
    run's α, the ones driven most by the input (not by their bias) whose potential differs most
    between α = 1 and the run's α."""
    v_frac, spikes = _simulate(current, alpha, config)
    v_lif, _ = _simulate(current, 1.0, config)
    counts = spikes.sum(0)
    active = (counts >= 1) & (counts <= current.shape[0] // 3)
    interest = (v_frac - v_lif).abs().mean(0) * current.std(0)
    score = torch.where(active, interest + 1e3, interest)  # active neurons first
    return torch.argsort(score, descending=True)[:TRACES]


def _plot_input(ax, t: torch.Tensor, sample: torch.Tensor, data: Dataset) -> None:
    if data.encoding == "direct":
        ax.plot(t, sample[:, 0], color="black", lw=1.2)
        ax.set_ylabel("input\nsignal")
    else:
        rows, cols = torch.nonzero(sample, as_tuple=True)
        ax.scatter(t[rows], cols, s=3, color="black")
        ax.set_ylabel("input\nspikes (pixel)")
    ax.grid(alpha=0.3)
    ax.set_title("input of the sample, and the membrane potential of three first-layer neurons")


def _spike_marks(ax, t: torch.Tensor, spikes: torch.Tensor, height: float, color: str) -> None:
    times = t[spikes > 0]
    ax.plot(times, torch.full_like(times, height, dtype=torch.float64), "|", color=color, ms=8, mew=1.5)


def learned_alpha(history: list[dict], start: float, path: Path) -> Path:
    """α per layer over the epochs, and the histogram of the final values (per neuron if so)."""
    plt = _pyplot()
    fig, (ax_time, ax_hist) = plt.subplots(1, 2, figsize=(11, 4.2))
    epochs = [r["epoch"] for r in history]
    layers = len(history[-1]["alpha"])
    for layer in range(layers):
        values = [torch.tensor(r["alpha"][layer]) for r in history]
        mean = [float(v.mean()) for v in values]
        line = ax_time.plot(epochs, mean, "o-", label=f"layer {layer + 1}")[0]
        if values[-1].numel() > 1:  # per neuron: the middle half of the layer
            ax_time.fill_between(
                epochs, [float(v.quantile(0.25)) for v in values], [float(v.quantile(0.75)) for v in values],
                color=line.get_color(), alpha=0.2,
            )
    band = "; band: 25–75 % of the neurons" if len(history[-1]["alpha"][0]) > 1 else ""
    ax_time.set(xlabel="epoch", ylabel=f"α (mean{band})", title="learned α during training", ylim=(0, 1.05))
    _integer_epochs(ax_time)
    ax_time.grid(alpha=0.3)
    ax_time.legend()
    final = [history[-1]["alpha"][layer] for layer in range(layers)]
    ax_hist.hist(final, bins=20, range=(0, 1), stacked=True, label=[f"layer {i + 1}" for i in range(layers)])
    ax_hist.axvline(start, color="black", ls="--", lw=1, label=f"start ({start:g})")
    ax_hist.set(xlabel="α", ylabel="neurons" if len(final[0]) > 1 else "layers", title="final α")
    ax_hist.legend()
    ax_hist.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def file_names(config: TrainConfig) -> list[str]:
    """The files :func:`write_all` writes for ``config`` (none without ``plots``)."""
    if not config.plots:
        return []
    return ["curves.png", "membrane.png", *(["alpha.png"] if config.alpha_spec.learn else [])]


def write_all(model: nn.Module, data: Dataset, config: TrainConfig, history: list[dict], out: Path, title: str) -> list[Path]:
    """Every figure of the run (:func:`file_names`), in ``out``; returns the paths written."""
    writers = {
        "curves.png": lambda path: training_curves(history, path, title),
        "membrane.png": lambda path: membrane_potentials(model, data, config, path),
        "alpha.png": lambda path: learned_alpha(history, config.alpha_spec.values[0], path),
    }
    return [writers[name](out / name) for name in file_names(config)]
