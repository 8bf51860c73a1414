r"""The fractional order of a neuron layer: α (one or several terms), coefficients and step h.

A :class:`FractionalOrder` is the only place α lives. Memory engines, native neurons, adapters,
``SNNWrapper`` and ``fdeint`` all ask it for weights, so "learnable α", "per-neuron α" and
"multi-term α" mean the same thing everywhere.

Shapes: α is stored as ``[M, *A]``: M terms (M = 1 for the usual single-order neuron) and ``A``
the per-neuron shape (``()`` for one α per layer). ``A`` must broadcast against the feature
dimensions of the state (everything after the batch dimension).

Learnable orders are kept in (0, 1] by projection: the forward pass uses
clamp(θ, ``ALPHA_MIN``, 1) and the backward pass lets the gradient through unchanged, so an α that
reaches 1 (the integer-order neuron) can leave it again. Learnable coefficients are positive
through c = exp(θ_c).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._checks import broadcasts_onto, check_alpha, check_alpha_list, check_positive, refuse_graph_inputs
from .weights import combined_gl_weights

__all__ = ["FractionalOrder", "ALPHA_MIN"]

#: Smallest order a learnable α is allowed to reach.
ALPHA_MIN = 0.01


class _ProjectToOrderRange(torch.autograd.Function):
    """clamp(θ, ALPHA_MIN, 1) forward, identity backward (projected gradient)."""

    @staticmethod
    def forward(ctx, theta: torch.Tensor) -> torch.Tensor:
        return theta.clamp(ALPHA_MIN, 1.0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad


class FractionalOrder(nn.Module):
    r"""Order(s) α and coefficients of  Σ_i c_i D^{α_i} v  on a grid of step h.

    Args:
        alpha: a float in (0, 1]; a list of floats for a multi-term derivative; or a tensor of
            per-neuron orders (shape ``A``).
        coefficients: one positive weight c_i per term of a list ``alpha`` (default: all 1).
        learn_alpha: make α a trainable parameter (kept in (0, 1]).
        learn_coefficients: make the coefficients trainable (kept positive).
        per_neuron: one α per neuron, its shape taken from the first state the memory sees
            (``alpha`` is then the initial value of every neuron).
        step_size: the step h of the time grid (1 for the usual discrete SNN).
    """

    def __init__(
        self,
        alpha: float | Sequence[float] | torch.Tensor = 1.0,
        coefficients: Sequence[float] | torch.Tensor | None = None,
        *,
        learn_alpha: bool = False,
        learn_coefficients: bool = False,
        per_neuron: bool = False,
        step_size: float = 1.0,
    ) -> None:
        super().__init__()
        refuse_graph_inputs(alpha, "alpha", "learn_alpha")
        refuse_graph_inputs(coefficients, "coefficients", "learn_coefficients")
        alphas, coefs = check_alpha_list(alpha, coefficients)
        check_positive(step_size, "step_size")
        # float64 even in a float32 model: α = 0.3 must mean 0.3, not 0.30000001192.
        if isinstance(alphas, torch.Tensor):
            values = alphas.detach().to(torch.float64).reshape(1, *alphas.shape).clone()
        else:
            values = torch.tensor(alphas, dtype=torch.float64)
        if per_neuron and values.dim() > 1:
            raise ValueError("per_neuron=True takes a float or list alpha, not a per-neuron tensor")
        self.learn_alpha = bool(learn_alpha)
        self.learn_coefficients = bool(learn_coefficients)
        self.per_neuron = bool(per_neuron)
        self.step_size = float(step_size)
        self._initial_alpha = values.clone()
        self._cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

        if self.per_neuron and self.learn_alpha:  # shape set by ``materialize``
            self.alpha_param = nn.parameter.UninitializedParameter(dtype=torch.float64)
        elif self.per_neuron:
            self.register_buffer("alpha_param", nn.parameter.UninitializedBuffer(dtype=torch.float64), persistent=False)
        elif self.learn_alpha:
            self.alpha_param = nn.Parameter(values)
        else:
            self.register_buffer("alpha_param", values, persistent=False)

        if coefs is None and learn_coefficients and self.terms > 1:
            coefs = [1.0] * self.terms
        if coefs is None:
            self.coefficient_param = None
        elif self.learn_coefficients:
            self.coefficient_param = nn.Parameter(torch.tensor(coefs, dtype=torch.float64).log())
        else:
            self.register_buffer("coefficient_param", torch.tensor(coefs, dtype=torch.float64), persistent=False)
        self._markovian = self._compute_markovian()

    # ------------------------------------------------------------------ values
    @property
    def terms(self) -> int:
        """Number of terms M of the multi-term derivative."""
        return int(self._initial_alpha.shape[0])

    @property
    def is_materialized(self) -> bool:
        return not isinstance(self.alpha_param, nn.parameter.UninitializedTensorMixin)

    @property
    def is_markovian(self) -> bool:
        """True when the derivative is the ordinary d/dt (fixed, single-term α = 1): no memory."""
        return self._markovian

    def _compute_markovian(self) -> bool:
        if self.learn_alpha or self.terms != 1 or self.coefficient_param is not None:
            return False
        values = self.alpha_param if self.is_materialized else self._initial_alpha
        return bool((values == 1.0).all())

    def materialize(self, feature_shape: torch.Size | Sequence[int]) -> None:
        """Give a ``per_neuron`` order its shape ``[M, *feature_shape]`` (no-op once done)."""
        if not self.per_neuron or self.is_materialized:
            return
        shape = (self.terms, *feature_shape)
        init = self._initial_alpha.reshape(self.terms, *([1] * len(feature_shape))).expand(shape)
        with torch.no_grad():
            self.alpha_param.materialize(shape)
            self.alpha_param.copy_(init)

    def check_fits(self, features: torch.Size) -> None:
        """Raise ``ValueError`` naming ``alpha`` unless the per-neuron shape A of α broadcasts onto
        the state's feature shape ``features`` without enlarging it (one α per neuron, or per
        channel, ...)."""
        shape = self.alphas().shape[1:]
        if not shape:
            return
        if not broadcasts_onto(shape, features):
            raise ValueError(
                f"alpha of shape {tuple(shape)} does not fit the neurons' feature shape {tuple(features)} "
                "(the state without its batch dimension): a per-neuron alpha must broadcast against it"
            )

    def alphas(self) -> torch.Tensor:
        """The orders in use, shape ``[M, *A]``, every entry in (0, 1]."""
        if not self.is_materialized:
            raise RuntimeError("per-neuron alpha has no shape yet: run one step before reading it")
        if self.learn_alpha:
            return _ProjectToOrderRange.apply(self.alpha_param)
        return self.alpha_param

    @property
    def alpha(self) -> torch.Tensor:
        """α as the user thinks of it: a scalar, ``[M]`` for multi-term, ``A`` per neuron."""
        a = self.alphas()
        return a[0] if self.terms == 1 else a

    def coefficients(self) -> torch.Tensor | None:
        """The coefficients c_i in use (``None`` for a single term without coefficients)."""
        if self.coefficient_param is None:
            return None
        if self.learn_coefficients:
            return self.coefficient_param.exp()
        return self.coefficient_param

    def set_alpha(self, alpha: float | torch.Tensor) -> None:
        """Overwrite every α in place (learnability unchanged); checks the range."""
        check_alpha(alpha)
        value = torch.as_tensor(alpha, dtype=torch.float64)
        with torch.no_grad():
            if self.is_materialized:
                self.alpha_param.copy_(value.to(self.alpha_param.device).expand_as(self.alpha_param))
            self._initial_alpha = value.expand_as(self._initial_alpha).clone() if value.dim() == 0 else value.reshape(self._initial_alpha.shape).clone()
        self._cache.clear()
        self._markovian = self._compute_markovian()

    def set_step_size(self, step_size: float) -> None:
        """Change the grid step h (a solver or wrapper that learns h from its time grid); the cached
        weights, which depend on h for a multi-term order, are dropped."""
        check_positive(step_size, "step_size")
        self.step_size = float(step_size)
        self._cache.clear()

    # ----------------------------------------------------------------- weights
    def gl(self, n: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Normalised GL weights ``w̃ [n+1, *A]`` and increment scale ``s [*A]`` (see
        :func:`fracneuron.weights.combined_gl_weights`), differentiable in α and the coefficients.

        Computed in float64 (float32 cumulative products lose ~k·eps over long histories) and cast;
        cached when nothing is learnable.
        """
        learnable = self.learn_alpha or self.learn_coefficients
        key = (n, dtype, str(device))
        if not learnable and key in self._cache:
            return self._cache[key]
        work = torch.float64 if device.type != "mps" else torch.float32
        alphas = self.alphas().to(device=device, dtype=work)
        coefs = self.coefficients()
        if coefs is not None:
            coefs = coefs.to(device=device, dtype=work)
        weights, scale = combined_gl_weights(alphas, coefs, n, self.step_size)
        result = (weights.to(dtype), scale.to(dtype))
        if not learnable:
            self._cache[key] = result
        return result

    @property
    def unit_scale(self) -> bool:
        """s = 1 exactly: one term without coefficients on a unit grid (s = 1^{α−1}), or α = 1."""
        return self.is_markovian or (self.terms == 1 and self.coefficient_param is None and self.step_size == 1.0)

    def increment_scale(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor | float:
        """s = h^{α−1} (single term) or 1/(h W_0) (multi-term); the float 1.0 when Markovian."""
        if self.is_markovian:
            return 1.0
        return self.gl(1, dtype, device)[1]

    # -------------------------------------------------------------- bookkeeping
    def _apply(self, fn, recurse=True):
        # α and the coefficients stay float64 through model.float()/.half()/.to(dtype) (α = 0.3
        # must keep meaning 0.3): only the device of ``fn`` is applied to them.
        def same_dtype(t: torch.Tensor) -> torch.Tensor:
            return t.to(fn(torch.empty(0, dtype=t.dtype, device=t.device)).device)

        self._cache.clear()
        return super()._apply(same_dtype, recurse)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):
        # A checkpoint of the native (integer-order) model has no α: keep the configured one, so
        # ``fractionalize(model)`` leaves the model's existing state_dict loadable.
        before = set(missing_keys)
        saved_alpha = state_dict.get(prefix + "alpha_param")
        if saved_alpha is not None and self.per_neuron and not self.is_materialized:
            self.materialize(saved_alpha.shape[1:])  # a trained per-neuron α loads into a fresh model
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        own = {prefix + name for name, _ in self.named_parameters(recurse=False)}
        missing_keys[:] = [k for k in missing_keys if k in before or k not in own]
        self._cache.clear()

    def extra_repr(self) -> str:
        if self.is_materialized:
            a = self.alphas().detach()
            shown = f"{a.flatten()[0].item():.4g}" if a.numel() == 1 else f"shape={tuple(a.shape)}"
        else:
            shown = f"{self._initial_alpha.flatten()[0].item():.4g} per neuron (unmaterialized)"
        parts = [f"alpha={shown}"]
        if self.terms > 1:
            parts.append(f"terms={self.terms}")
        if self.learn_alpha:
            parts.append("learn_alpha=True")
        if self.step_size != 1.0:
            parts.append(f"step_size={self.step_size:g}")
        return ", ".join(parts)

