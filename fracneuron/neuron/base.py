"""``BaseNeuron``: the state and the charge → fire → reset step every native neuron shares.

See :mod:`fracneuron.neuron` for the step and its shapes; subclasses define dv/dt
(:mod:`fracneuron.neuron.models`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from .. import surrogate
from .._checks import check_choice, check_finite, check_positive, check_tensor
from ..memory import FractionalMemory, StateShapeError
from ..options import FractionalOptions
from .fused import can_fuse, fused_sequence
from .lean import can_step_lean, lean_step

__all__ = ["BaseNeuron", "TRACE_UPDATES"]

#: PySNN's names of the trace updates
#: trace update rules; PySNN's "linear" (a decay factor, then the increment) is "additive"
TRACE_UPDATES = ("additive", "exponential", "nearest")
TRACE_ALIASES = {"linear": "additive"}


class BaseNeuron(nn.Module):
    r"""Base of fracneuron's native neurons; subclasses implement :meth:`dv_dt`.

    Args (spikeDE's):
        tau: membrane time constant τ > 0 (learnable as τ = τ_0·exp(θ), θ = 0 at start, so it
            stays positive and starts at ``tau``).
        threshold: firing threshold θ.
        surrogate_grad_scale: sharpness of the surrogate derivative.
        surrogate_opt: name of a registered spike function (``"arctan_surrogate"``,
            ``"sigmoid"``, ``"fast_sigmoid"``, … see :mod:`fracneuron.surrogate`).
        tau_learnable: train τ.

    Keyword-only (fracneuron's):
        spk_reset: ``"soft"`` (subtract θ) or ``"hard"`` (set to ``v_reset``).
        v_reset: reset and rest level of a hard reset (the rest level is 0 for a soft reset).
        detach_reset: no gradient through the reset.
        alpha, coefficients, learn_alpha, learn_coefficients, per_neuron, memory,
            memory_options: the fractional order and the history engine, as everywhere in
            fracneuron (:class:`~fracneuron.options.FractionalOptions`); ``per_neuron_alpha`` is
            the older spelling of ``per_neuron``.
        step_size: the grid step h.
        step_mode: ``"s"`` (one step per call) or ``"m"`` (a ``[T, B, ...]`` sequence per call).
        refractory: steps R ≥ 0 of absolute refractoriness (PySNN's ``duration_refrac``, BrainPy's
            ``LIFRef``): for R steps after a spike the membrane is held where the reset left it and
            cannot fire; the held values enter the fractional history like any state.
        trace_tau, trace_increment, trace_update: a spike trace y (PySNN's ``tau_t``/``alpha_t``),
            kept when ``trace_tau`` (τ_t > 0) is given, a = ``trace_increment``:
            y_n = e^{−h/τ_t} y_{n-1} + a S_n (``"additive"``, PySNN's ``"linear"``);
            y_n = y_{n-1} + (h/τ_t)(a S_n − y_{n-1}) (``"exponential"``, PySNN's: the Euler step
            of τ_t dy/dt = −y + a S); or y_n = a on a spike, else e^{−h/τ_t} y_{n-1}
            (``"nearest"``: only the latest spike counts). Read it as ``neuron.trace`` after a step.
        fused_multi_step: in ``"m"`` mode, run IF/LIF neurons with a fractional order on the
            fused path (:mod:`fracneuron.neuron.fused`: the whole sequence as one autograd node,
            any engine with an adjoint, fixed or learned α and τ), and step IF/LIF otherwise with
            the lean single step (:mod:`fracneuron.neuron.lean`: one node per step); default
            ``True``. ``False`` records every operation of every step.
    """

    #: the dv/dt the fused multi-step path knows (set by IF and LIF; ``fused_leak``: with a leak)
    fused_dv_dt = None
    fused_leak = False

    # defaults for modules pickled before these options existed
    refractory = 0
    trace_tau: float | None = None
    resting: torch.Tensor | None = None
    trace: torch.Tensor | None = None

    def __init__(
        self,
        tau: float = 0.5,
        threshold: float = 1.0,
        surrogate_grad_scale: float = 5.0,
        surrogate_opt: str = "arctan_surrogate",
        tau_learnable: bool = False,
        *,
        spk_reset: str = "soft",
        v_reset: float = 0.0,
        detach_reset: bool = False,
        alpha: float | Sequence[float] | torch.Tensor = 1.0,
        coefficients: Sequence[float] | None = None,
        learn_alpha: bool = False,
        learn_coefficients: bool = False,
        per_neuron: bool = False,
        memory: str = "exact",
        memory_options: dict | None = None,
        per_neuron_alpha: bool | None = None,
        step_size: float = 1.0,
        step_mode: str = "s",
        fused_multi_step: bool = True,
        refractory: int = 0,
        trace_tau: float | None = None,
        trace_increment: float = 1.0,
        trace_update: str = "additive",
    ) -> None:
        super().__init__()
        check_positive(tau, "tau")
        check_finite(threshold, "threshold")  # inf would make the soft reset 0·inf = NaN
        check_choice(spk_reset, ("soft", "hard"), "spk_reset")
        if spk_reset == "hard":
            check_finite(v_reset, "v_reset")
        check_choice(step_mode, ("s", "m"), "step_mode")
        self.initial_tau = float(tau)
        self.tau_learnable = bool(tau_learnable)
        self.tau_param = nn.Parameter(torch.zeros((), dtype=torch.float32)) if tau_learnable else None
        self.threshold = float(threshold)
        self.surrogate_grad_scale = float(surrogate_grad_scale)
        self.surrogate_opt = surrogate_opt
        self.surrogate_f = surrogate.get(surrogate_opt, surrogate_grad_scale)
        self.spk_reset = spk_reset
        self.v_reset = float(v_reset)
        self.detach_reset = bool(detach_reset)
        self.step_size = float(step_size)
        self.step_mode = step_mode
        self.fused_multi_step = bool(fused_multi_step)
        if isinstance(refractory, bool) or not isinstance(refractory, int) or refractory < 0:
            raise ValueError(f"refractory must be an integer number of steps >= 0, got {refractory!r}")
        self.refractory = refractory
        if trace_tau is not None:
            check_positive(trace_tau, "trace_tau")
        self.trace_tau = None if trace_tau is None else float(trace_tau)
        self.trace_increment = check_finite(trace_increment, "trace_increment")
        self.trace_update = TRACE_ALIASES.get(trace_update, trace_update)
        check_choice(self.trace_update, TRACE_UPDATES, "trace_update")
        self.resting: torch.Tensor | None = None  # refractory steps left, per neuron
        self.trace: torch.Tensor | None = None
        options = FractionalOptions(
            alpha=alpha,
            memory=memory,
            learn_alpha=learn_alpha,
            coefficients=coefficients,
            learn_coefficients=learn_coefficients,
            per_neuron=per_neuron if per_neuron_alpha is None else bool(per_neuron or per_neuron_alpha),
            memory_options=memory_options,
        )
        self.memory = FractionalMemory.from_options(options.validate(), step_size)
        self.v: torch.Tensor | None = None

    # ------------------------------------------------------------ parameters
    def get_tau(self) -> torch.Tensor | float:
        """τ in use: the float ``tau``, or τ_0·exp(θ) when learnable (always > 0)."""
        if self.tau_param is None:
            return self.initial_tau
        return self.initial_tau * torch.exp(self.tau_param)

    @property
    def alpha(self) -> torch.Tensor:
        """The fractional order(s) in use, each in (0, 1]."""
        return self.memory.alpha

    @property
    def v_rest(self) -> float:
        """Rest level v0: where the membrane starts and where the leak pulls it (``v_reset`` for a
        hard reset, 0 for a soft one). The memory measures its history from the anchor, the
        membrane the sequence starts from: v0 unless ``neuron.v`` was set before the first step."""
        return self.v_reset if self.spk_reset == "hard" else 0.0

    # ------------------------------------------------------------- dynamics
    def dv_dt(self, v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Right-hand side f(v, x) of D^α v = f(v, x), without the reset. Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define dv_dt(v, x)")

    def firing_threshold(self) -> torch.Tensor | float:
        """θ of this step (constant here; adaptive in :class:`ALIFNeuron`)."""
        return self.threshold

    def fire(self, h: torch.Tensor) -> torch.Tensor:
        """S = Θ(H − θ) with the surrogate derivative."""
        return self.surrogate_f(h - self.firing_threshold())

    def reset_potential(self, h: torch.Tensor, spike: torch.Tensor) -> torch.Tensor:
        """Post-spike potential from the pre-spike H and the spike S."""
        if self.detach_reset:
            spike = spike.detach()
        if self.spk_reset == "soft":
            return h - spike * self.firing_threshold()
        return spike * self.v_reset + (1.0 - spike) * h

    # --------------------------------------------------------------- state
    def initial_potential(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full_like(x, self.v_rest)

    def _potential_for(self, x: torch.Tensor) -> torch.Tensor:
        if self.v is None:
            return self.initial_potential(x)
        if self.v.shape != x.shape:
            raise StateShapeError(
                f"{type(self).__name__} got input of shape {tuple(x.shape)} but its state has shape "
                f"{tuple(self.v.shape)}; call reset() before a new batch (batch size changed "
                "mid-sequence?)"
            )
        return self.v

    def reset(self) -> None:
        """Start a new sequence: forget the potential, the fractional history, the refractory
        counters and the trace."""
        self.v = self.resting = self.trace = None
        self.memory.reset()

    def detach(self) -> None:
        """Cut the autograd graph (truncated BPTT), keeping the state and history values."""
        if self.v is not None:
            self.v = self.v.detach()
        if self.trace is not None:
            self.trace = self.trace.detach()
        self.memory.detach()

    def _apply(self, fn, recurse=True):
        super()._apply(fn, recurse)
        for name in ("v", "resting", "trace"):
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, fn(value))
        return self

    def __getstate__(self):
        # deepcopy/pickle carry the state's values, never its autograd graph (which cannot be copied)
        state = self.__dict__.copy()
        for name, value in state.items():
            if isinstance(value, torch.Tensor):
                state[name] = value.detach()
        return state

    # ------------------------------------------------------------- stepping
    def single_step(self, x: torch.Tensor) -> torch.Tensor:
        """One charge → fire → reset step; ``x`` is ``[B, *features]``, returns spikes.

        IF/LIF with a fractional order charged by explicit GL take the lean path
        (:mod:`fracneuron.neuron.lean`: the same values, one autograd node per step)."""
        if can_step_lean(self, x, BaseNeuron):
            return lean_step(self, x)
        v = self._potential_for(x)
        h = self.memory.charge(v, lambda u: self.dv_dt(u, x), self.step_size)
        resting = self._resting_mask(v)
        if resting is not None:  # held where the reset left it, and silent
            h = torch.where(resting, v, h)
        spike = self.fire(h)
        if resting is not None:
            spike = spike.masked_fill(resting, 0.0)
        self.v = self.reset_potential(h, spike)
        self._after_spikes(spike)
        return spike

    def _resting_mask(self, v: torch.Tensor) -> torch.Tensor | None:
        """Neurons in their refractory period this step (``None`` without refractoriness)."""
        if self.refractory == 0:
            return None
        if self.resting is None:
            self.resting = torch.zeros(v.shape, dtype=torch.int64, device=v.device)
        return self.resting > 0

    def _after_spikes(self, spike: torch.Tensor) -> None:
        """Refractory counters and the trace after this step's spikes."""
        if self.refractory:
            fired = spike.detach() > 0
            self.resting = torch.where(fired, self.refractory, (self.resting - 1).clamp_(min=0))
        if self.trace_tau is not None:
            decay = math.exp(-self.step_size / self.trace_tau)
            trace = torch.zeros_like(spike) if self.trace is None else self.trace
            if self.trace_update == "additive":
                self.trace = decay * trace + self.trace_increment * spike
            elif self.trace_update == "exponential":
                self.trace = trace + self.step_size / self.trace_tau * (self.trace_increment * spike - trace)
            else:
                self.trace = torch.where(spike.detach() > 0, self.trace_increment * spike, decay * trace)

    def multi_step(self, x_seq: torch.Tensor) -> torch.Tensor:
        """``x_seq`` is ``[T, B, *features]``; returns spikes of the same shape.

        IF and LIF neurons with a fractional order charged by explicit GL run the sequence as one
        autograd node with a hand-written backward (:mod:`fracneuron.neuron.fused`, the generic
        sequence kernel :func:`fracneuron.functional.sequence.fused_sequence`): ``exact``,
        ``window`` or ``soe`` memory, a fixed or learned α (per layer, per neuron, multi-term), a
        learned τ, soft or hard reset, ``detach_reset``; a call may continue an earlier one (after
        ``detach()``, or without it: the memory's gradient reaches the earlier call). Spikes and
        states are the stepped ones bit for bit, gradients equal to rounding. Everything else
        steps (:meth:`single_step`, one step at a time): α = 1, ALIF, refractoriness, traces,
        another scheme (``SNNWrapper``'s ``l1``, ``pred``, ``abm``, ``trap``), an engine without
        an adjoint, a past recorded step by step with a graph (until ``detach()``), under
        ``torch.compile``, or ``fused_multi_step = False``.
        """
        if x_seq.shape[0] == 0:  # no time steps: no spikes, the state is left as it was
            return torch.empty_like(x_seq)
        if not self.memory.is_markovian:
            self.memory.check_continuation(self.memory.state, x_seq.shape[0], "neuron.reset()")
        if can_fuse(self, x_seq, BaseNeuron):
            return fused_sequence(self, x_seq)
        return torch.stack([self.single_step(x) for x in x_seq])

    def derivative(self, v_mem: torch.Tensor, current_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """spikeDE's stateless form: ``(dv_dt, spike)`` with the reset folded into dv/dt.

        dv_dt = (v_new − v_mem)/h for one Markovian step from ``v_mem``, so a solver that owns the
        state and integrates dv_dt reproduces charge → fire → reset at α = 1.
        """
        h = v_mem + self.step_size * self.dv_dt(v_mem, current_input)
        spike = self.fire(h)
        return (self.reset_potential(h, spike) - v_mem) / self.step_size, spike

    def forward(self, x: torch.Tensor, current_input: torch.Tensor | None = None):
        """``neuron(x)`` steps the neuron; ``neuron(v_mem, current_input)`` is spikeDE's derivative."""
        if current_input is not None:
            return self.derivative(check_tensor(x, "v_mem"), check_tensor(current_input, "current_input"))
        check_tensor(x, "x")
        if self.step_mode == "m":
            if x.dim() < 2:
                raise ValueError(f"step_mode='m' expects x of shape [T, B, ...], got {tuple(x.shape)}")
            return self.multi_step(x)
        return self.single_step(x)

    def extra_repr(self) -> str:
        tau = f"tau={self.initial_tau:g}" + (" (learnable)" if self.tau_learnable else "")
        reset = "soft" if self.spk_reset == "soft" else f"hard, v_reset={self.v_reset:g}"
        text = (
            f"{tau}, threshold={self.threshold:g}, surrogate={self.surrogate_opt}"
            f"(scale={self.surrogate_grad_scale:g}), reset={reset}, step_mode={self.step_mode}"
        )
        if self.refractory:
            text += f", refractory={self.refractory}"
        if self.trace_tau is not None:
            text += f", trace(tau={self.trace_tau:g}, increment={self.trace_increment:g}, {self.trace_update})"
        return text
