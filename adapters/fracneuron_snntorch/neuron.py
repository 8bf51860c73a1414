r"""The fractional half of a fractional snnTorch neuron: a mixin placed before the native class.

snnTorch advances the membrane once per call, ``spk, mem = lif(cur, mem)``, through the state
function its constructor picked (``_base_sub``, ``_base_zero`` or ``_base_int``). The mixin wraps
that state function and nothing else, so snnTorch's own forward still does the charge, state
quantisation, inhibition, firing, graded spikes and ``reset_delay=False`` reset.

The step (DESIGN.md's formula). With r_n = H(mem_{n-1} − θ) the reset signal
snnTorch computes from the previous membrane, the state step n starts from is the membrane after
that reset,

    v̂_{n-1} = mem_{n-1} − r_n θ  ('subtract'),   (1 − r_n) mem_{n-1}  ('zero'),   mem_{n-1}  ('none'),

and the increment is snnTorch's own: Δ_n = new_mem_native − v̂_{n-1} (new_mem_native from its state
function, e.g. β·mem_{n-1} + x_n − r_n θ for Leaky 'subtract'). The fractional membrane is

    H_n = v̂_{n-1} + s Δ_n + c_n,        c_n = −Σ_{k=1}^{n} ω_k (v̂_{n-k} − v̂_0)        (shape of mem)

(s = h^{α−1}, ω_1 = 1 − α and ω_k = w_k for k ≥ 2; multi-term orders use the combined weights of
:func:`fracneuron.weights.combined_gl_weights`; h = 1 except for Lapicque, whose Euler step h is
its ``time_step``), and v̂_{n-1} is what joins the history: the post-reset membrane. Caputo's
derivative acts on the deviation from the first state v̂_0 of the sequence (0 for a fresh
``init_leaky()`` membrane, the carried ``mem`` when a non-zero one starts a new history), so an
undriven membrane with β = 1 stays where it started. snnTorch then quantises and fires on H_n and,
with ``reset_delay=False``, resets it at once (that reset reaches the history through mem_n). At a
fixed α = 1 the memory returns ``None`` and the native result is returned untouched: bit-exact.

Synaptic and RSynaptic: the memory rides on ``mem`` only; the synaptic current ``syn`` keeps its
first-order update (D^α mem = −(1 − β) mem + syn, syn' = −(1 − α_syn) syn + x).

New-sequence rule. The history continues only when the membrane a step starts from is the tensor
this module returned on its previous step: passed back as ``mem``, left in the module (no ``mem``
argument, or ``init_hidden=True``), or a detached alias of it (``mem.detach()``, or the same
tensor after ``mem.detach_()``). Anything else starts a new history whose first state is that
membrane: a fresh ``init_leaky()``/``reset_mem()`` tensor, a zero tensor the user made,
``snntorch.utils.reset(net)`` / ``reset_hidden()`` (they assign new zero tensors), a cloned or
modified ``mem``. ``reset_mem()`` (and the ``init_*`` aliases) also clear the history at once.
After ``.to()``/``.double()`` moved a running neuron (its history moves with it), the returned
membrane converted the same way (``mem.double()``) continues the sequence; any other membrane
starts a new history, with a warning. A carried membrane that lost its autograd graph in place (snnTorch's ``detach_hidden()`` for
truncated BPTT) detaches the history too. A carried membrane whose shape no longer matches the
input (batch size changed without a reset) raises :class:`~fracneuron.memory.StateShapeError`
(at a fixed α = 1 there is no history and snnTorch's own behaviour, a silent restart, is kept).
One module holds one history: a neuron module shared by two state streams in the same time step
would restart at every call, so give each stream its own module.
"""

from __future__ import annotations

import warnings

import torch

from fracneuron.adapter import FractionalOptions
from fracneuron.functional.step import fractional_potential
from fracneuron.memory import FractionalMemory, StateShapeError

from .supported_neurons import Family

__all__ = ["FractionalNeuron", "after_reset"]

def after_reset(mem: torch.Tensor, reset: torch.Tensor, threshold: torch.Tensor, mechanism: str) -> torch.Tensor:
    """v̂ = the membrane after snnTorch's reset signal ``reset`` (0/1, same shape) is applied."""
    if mechanism == "subtract":  # mem − reset·θ in one operation (−1·reset·θ is exact: same bits)
        return torch.addcmul(mem, reset, threshold, value=-1)
    if mechanism == "zero":
        return (1 - reset) * mem
    return mem


def _aliases(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same tensor, or a view of the very same values (``b.detach()``)."""
    if a is b:
        return True
    return (
        a.numel() > 0
        and a.device == b.device
        and a.data_ptr() == b.data_ptr()
        and a.shape == b.shape
        and a.stride() == b.stride()
    )


def _same_values(carried: torch.Tensor, last: torch.Tensor) -> bool:
    """After a move: is ``carried`` the returned membrane converted the same way (mem.double())?"""
    return carried.shape == last.shape and torch.equal(carried, last.to(device=carried.device, dtype=carried.dtype))


class FractionalNeuron:
    """Mixin turning an snnTorch neuron class into its fractional version (see module docstring).

    Generated classes are ``class FractionalLeaky(FractionalNeuron, snntorch.Leaky)``; build them
    with :func:`fracneuron.fractional`. Constructor: the native arguments plus, as keywords,

    * ``alpha`` (``frac_alpha`` for Synaptic/RSynaptic, whose ``alpha`` is the synaptic decay):
      a float in (0, 1], a list for a multi-term derivative, or a per-neuron tensor;
    * ``learn_alpha`` (``learn_frac_alpha``), ``memory`` ("exact", "window", …), ``coefficients``,
      ``learn_coefficients``, ``per_neuron``, ``memory_options``
      (see :class:`fracneuron.memory.FractionalMemory`).

    The memory lives in ``self.memory`` (a :class:`~fracneuron.memory.FractionalMemory`).
    """

    #: set on each generated class
    _frac_family: Family
    _frac_native: type

    def __init__(self, *args, **kwargs) -> None:
        options = self._frac_options(kwargs)
        # Validate before the native constructor appends self to SpikingNeuron.instances.
        try:
            options.validate()
        except ValueError as exc:
            order_arg = self._frac_family.order_arg
            raise ValueError(str(exc) if order_arg == "alpha" else f"{order_arg}: {exc}") from None
        super().__init__(*args, **kwargs)
        self._frac_attach(options)

    @classmethod
    def _frac_options(cls, kwargs: dict) -> FractionalOptions:
        """Pop the fractional keywords out of the constructor's ``kwargs``."""
        family = cls._frac_family
        return FractionalOptions.take(kwargs, alpha=family.order_arg, learn_alpha=family.learn_order_arg)

    def _frac_attach(self, options: FractionalOptions) -> None:
        """Give this (already constructed) neuron a fresh fractional memory."""
        step = self._frac_family.step_attr
        step_size = float(getattr(self, step)) if step else 1.0
        memory = FractionalMemory.from_options(options, step_size)
        self.memory = memory.to(self.threshold.device)
        self._frac_returned: torch.Tensor | None = None  # the mem this module returned last step
        self._frac_graph = False  # ... and whether it carried an autograd graph
        self._frac_carried: torch.Tensor | None = None  # the mem this step starts from
        self._frac_moved = False  # .to()/.double() moved the running sequence since its last step

    # ------------------------------------------------------------------ step
    def forward(self, input_, *args, **kwargs):
        # The new-sequence rule runs inside the state function (``_frac_update``), after snnTorch's
        # own argument checks, so a misuse gets snnTorch's own error first.
        # (plain attributes, set past nn.Module.__setattr__'s parameter/buffer checks: per step)
        setattr_ = object.__setattr__
        setattr_(self, "_frac_carried", self._frac_carried_mem(args, kwargs))
        try:
            out = super().forward(input_, *args, **kwargs)
        finally:
            setattr_(self, "_frac_carried", None)
        mem = self.mem
        setattr_(self, "_frac_returned", mem)
        setattr_(self, "_frac_graph", mem.requires_grad)  # (not grad_fn: torch.compile traces requires_grad)
        return out

    def _frac_carried_mem(self, args: tuple, kwargs: dict) -> torch.Tensor:
        """The membrane this step starts from: the ``mem`` argument, else the module's buffer."""
        index = self._frac_family.mem_index
        passed = kwargs.get("mem", args[index] if len(args) > index else None)
        return self.mem if passed is None else passed

    def _frac_begin_step(self, input_: torch.Tensor, carried: torch.Tensor) -> None:
        """Apply the new-sequence rule (module docstring) to the membrane the step starts from."""
        last, moved = self._frac_returned, self._frac_moved
        self._frac_moved = False
        if last is None or not (_aliases(carried, last) or (moved and _same_values(carried, last))):
            if moved and self.memory.steps:
                warnings.warn(
                    f"{type(self).__name__}: the mem passed after moving the neuron (.to(), .double(), ...) "
                    "is not the membrane it returned, so a new fractional history started; pass the "
                    "returned mem converted the same way (e.g. mem.double()) to continue the sequence",
                    RuntimeWarning,
                    stacklevel=5,
                )
            self.memory.reset()
            return
        if self.memory.steps and carried.shape != input_.shape:
            raise StateShapeError(
                f"{type(self).__name__}: input of shape {tuple(input_.shape)} but the running "
                f"sequence's mem has shape {tuple(carried.shape)}; the batch size changed without a "
                "reset. Start a new sequence first: mem = neuron.reset_mem() (init_leaky(), …), "
                "snntorch.utils.reset(net), or pass a fresh mem tensor"
            )
        if self._frac_graph and not carried.requires_grad:
            self.memory.detach()  # truncated BPTT: detach_hidden() cut mem's graph in place

    def _frac_update(self, native_update, input_: torch.Tensor, mechanism: str):
        """snnTorch's state update, made fractional on ``mem`` (module docstring)."""
        memory = self.memory
        if memory.is_markovian:
            return native_update(input_)
        self._frac_begin_step(input_, self.mem if self._frac_carried is None else self._frac_carried)
        mem_prev = self.mem  # read first: Leaky's '_base_zero' reassigns self.mem
        new = native_update(input_)
        start = after_reset(mem_prev, self.reset, self.threshold, mechanism)
        correction = memory(start)
        new_mem = new[-1] if isinstance(new, tuple) else new
        potential = fractional_potential(start, correction, memory.increment_scale(start), charged=new_mem)
        return (*new[:-1], potential) if isinstance(new, tuple) else potential

    # snnTorch's constructor binds one of these as ``self.state_function``; forward calls it once
    # per step (Lapicque/RLeaky call _base_state_function twice inside, which is left alone).
    def _base_sub(self, input_):
        return self._frac_update(super()._base_sub, input_, "subtract")

    def _base_zero(self, input_):
        return self._frac_update(super()._base_zero, input_, "zero")

    def _base_int(self, input_):
        return self._frac_update(super()._base_int, input_, "none")

    # ------------------------------------------------------------- lifecycle
    def reset_mem(self):
        """Start a new sequence: clear the history, then snnTorch's own reset_mem."""
        self.memory.reset()
        self._frac_returned = None
        return super().reset_mem()

    def _apply(self, fn, recurse=True):
        # .to()/.double() replace the mem buffer: keep the running sequence recognisable.
        current = self._frac_returned is not None and self._frac_returned is self.mem
        super()._apply(fn, recurse)
        if current:
            self._frac_returned = self.mem
            self._frac_moved = True  # the caller's own mem is now a copy: continue on equal values
        return self
