"""Batch normalisation and dropout: the ops that behave differently in training and eval."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import numpy as np

from bpviz.engine.explain import Explained, OpPass, Term, index_text
from bpviz.engine.op import Hyper, HyperError, Op, Shape, ShapeError, number_text, register
from bpviz.engine.shape_text import shape_text


def channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Σ a ⊙ b over every axis but the channel axis 1, without an a ⊙ b temporary."""
    axes = "nchwdefg"[:a.ndim]
    return np.einsum(f"{axes},{axes}->c", a, b)


@register
class BatchNorm(Op):
    """Normalise each channel over the batch (and pixels), then scale and shift.

    Input [N, C, H, W] or [N, C]; weight γ [C] and bias β [C] as
    torch.nn.BatchNorm2d/1d; buffers running_mean and running_var [C].

    Training: μ_B and σ²_B are the mean and the biased variance of the m = N·H·W
    values of each channel in this batch; the running statistics move towards
    them (running_var towards the unbiased variance σ²_B · m/(m−1), as torch).
    Eval: μ and σ² are the running statistics, so the op is a fixed affine map.
    """

    op_name = "batchnorm"
    family = "norm"
    hypers = (Hyper("eps", "float", 1e-5, minimum=0.0,
                    doc="ε added to the variance before the square root"),
              Hyper("momentum", "float", 0.1, minimum=0.0, maximum=1.0,
                    doc="how far the running statistics move towards each batch's"))
    summary = "Batch normalisation: standardise each channel, then scale by γ and shift by β."
    param_symbols = MappingProxyType({"weight": "γ", "bias": "β"})
    forward_formula = "x̂ = (x − μ_B)/√(σ²_B + ε),  y = γ x̂ + β"
    backward_formula = ("∂L/∂γ = Σ ∂L/∂y ⊙ x̂,  ∂L/∂β = Σ ∂L/∂y,  "
                        "∂L/∂x = γ/(m√(σ²_B + ε)) · (m ∂L/∂y − Σ ∂L/∂y − x̂ Σ ∂L/∂y ⊙ x̂) "
                        "(training; in eval ∂L/∂x = γ/√(σ² + ε) · ∂L/∂y)",)

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        if len(shape) not in (1, 3):
            raise ShapeError(f"batchnorm needs inputs [C] or [C, H, W], got {shape_text(shape)}")
        return tuple(shape)

    def param_shapes(self, in_shapes: list[Shape]) -> dict[str, Shape]:
        channels = self.infer_shape(in_shapes)[0]
        return {"weight": (channels,), "bias": (channels,)}

    def buffer_shapes(self, in_shapes: list[Shape]) -> dict[str, Shape]:
        channels = self.infer_shape(in_shapes)[0]
        return {"running_mean": (channels,), "running_var": (channels,)}

    def init_params(self, in_shapes, rng, dtype, scheme) -> None:
        channels = self.infer_shape(in_shapes)[0]
        self.params["weight"] = np.ones(channels, dtype)
        self.params["bias"] = np.zeros(channels, dtype)
        self.buffers["running_mean"] = np.zeros(channels, dtype)
        self.buffers["running_var"] = np.ones(channels, dtype)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        self.infer_shape([x.shape[1:]])
        # Reduce over every axis but the channel axis; `shape` broadcasts a
        # per-channel vector against x.
        axes = (0, *range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        m = x.size // x.shape[1]
        if self.training:
            if m < 2:
                raise ShapeError("batchnorm in training needs more than one value per channel "
                                 f"(got a batch of {x.shape[0]} with {m} value per channel)")
            mean = x.mean(axis=axes)
            centred = x - mean.reshape(shape)
            var = channel_dot(centred, centred) / m
            momentum = self.hp["momentum"]
            # NOTE: the output uses the biased variance (divide by m), but the
            # running variance is updated with the unbiased one (m − 1), as torch.
            self.buffers["running_mean"] = ((1 - momentum) * self.buffers["running_mean"]
                                            + momentum * mean)
            self.buffers["running_var"] = ((1 - momentum) * self.buffers["running_var"]
                                           + momentum * var * (m / (m - 1)))
        else:
            mean = self.buffers["running_mean"]
            var = self.buffers["running_var"]
            centred = x - mean.reshape(shape)
        inv_std = 1 / np.sqrt(var + self.hp["eps"])
        x_hat = centred  # a fresh array of this op's: scaled in place
        x_hat *= inv_std.reshape(shape)
        self._cache = (x_hat, inv_std, axes, shape, m, self.training)
        y = x_hat * self.params["weight"].reshape(shape)
        y += self.params["bias"].reshape(shape)
        return y

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        x_hat, inv_std, axes, shape, m, training = self._cache
        sum_gy = gy.sum(axis=axes)
        sum_gy_xhat = channel_dot(gy, x_hat)
        if self.trainable:
            self.grads["weight"] = sum_gy_xhat
            self.grads["bias"] = sum_gy
        scale = (self.params["weight"] * inv_std).reshape(shape)
        if not training:
            return (gy * scale,)
        # NOTE: in training μ_B and σ²_B depend on every x of the channel, so
        # the gradient has two extra terms: the mean of ∂L/∂y is removed, and
        # the part along x̂ is removed (the batch statistics absorb both).
        grad_x = x_hat * (-sum_gy_xhat / m).reshape(shape)  # one fresh array, then in place
        grad_x += gy
        grad_x -= (sum_gy / m).reshape(shape)
        grad_x *= scale
        return (grad_x,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        x = ctx.inputs[0]
        c = at[1] if tensor in ("out", "grad_in/0") else at[0]
        stats = _statistics(x, c, self.training, self.buffers, self.hp["eps"])
        mu, inv_std, x_hat, positions, batch = stats
        ic, i = f"[{c}]", index_text(at)
        gamma = ctx.param("weight", (c,))
        mean = ctx.constant(f"μ{batch}{ic}", mu)
        inverse = ctx.constant(f"1/√(σ²{batch}{ic} + ε)", inv_std)
        where = (f"the batch statistics of channel {c} over its m = {len(positions)} values"
                 if self.training else f"the running statistics of channel {c} (eval)")
        if tensor == "out":
            terms = (Term(1.0, (gamma, ctx.x(at), inverse)),
                     Term(-1.0, (gamma, mean, inverse)),
                     Term(1.0, (ctx.param("bias", (c,)),)))
            return Explained(f"y{i} = γ{ic} x̂{i} + β{ic},  x̂{i} = (x{i} − μ{batch}{ic}) "
                             f"/ √(σ²{batch}{ic} + ε)", terms, where)
        if tensor == "grad/weight":
            terms = tuple(Term(1.0, (ctx.gy(p), ctx.constant(f"x̂{index_text(p)}", x_hat[p])))
                          for p in positions)
            return Explained(f"∂L/∂γ{ic} = Σ ∂L/∂y[n,{c},…] · x̂[n,{c},…] over the "
                             f"{len(positions)} values of channel {c}", terms, where)
        if tensor == "grad/bias":
            return Explained(f"∂L/∂β{ic} = Σ ∂L/∂y[n,{c},…] over the {len(positions)} values "
                             f"of channel {c}", tuple(Term(1.0, (ctx.gy(p),)) for p in positions))
        if not self.training:
            return Explained(f"∂L/∂x{i} = γ{ic} / √(σ²{batch}{ic} + ε) · ∂L/∂y{i}",
                             (Term(1.0, (gamma, inverse, ctx.gy(at))),),
                             where + ": a fixed affine map, one term")
        # NOTE: in training μ_B and σ²_B depend on every x of the channel, so
        # ∂L/∂x_i reads ∂L/∂y_j at every position j of the channel, not only at i.
        m = len(positions)
        one_over_m = ctx.constant("1/m", 1 / m)
        own = [at] + [p for p in positions if p != at]  # j = i first: the m ∂L/∂y_i term
        terms = tuple(Term(1.0, (gamma, inverse, one_over_m, ctx.constant(
            f"(m − 1 − x̂{i}²)" if p == at else f"(−1 − x̂{i} x̂{index_text(p)})",
            m * (p == at) - 1 - x_hat[at] * x_hat[p]), ctx.gy(p))) for p in own)
        return Explained(f"∂L/∂x{i} = γ{ic} / (m √(σ²_B{ic} + ε)) · Σ_j (m δ_ij − 1 − x̂_i x̂_j) "
                         f"∂L/∂y_j,  i = {i}, j over the m = {m} values of channel {c}",
                         terms, where + ": every value of the channel moves μ_B and σ²_B")


@register
class Dropout(Op):
    """Inverted dropout: in training y = x ⊙ mask, with mask_i = 1/(1−p) with
    probability 1−p and 0 otherwise; in eval y = x. Any input shape [N, ...].

    `rng` (a numpy Generator) draws the masks; the network builder sets it.
    After forward, `mask` holds the mask used, same shape and dtype as x.
    With `reuse_mask` set (gradient checks) the previous mask is reused while
    the shape stays the same, which makes the op a fixed function of x.
    """

    op_name = "dropout"
    family = "norm"
    hypers = (Hyper("p", "float", 0.5, minimum=0.0, maximum=1.0,
                    doc="probability of dropping each value, 0 ≤ p < 1"),)
    summary = "Dropout: zero each value with probability p in training, rescale the rest."
    elementwise = True
    forward_formula = "y = x ⊙ mask / (1 − p), mask_i ∈ {0, 1}"
    backward_formula = ("∂L/∂x = ∂L/∂y ⊙ mask / (1 − p) (eval: y = x, ∂L/∂x = ∂L/∂y)",)

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        return f"dropout p={number_text(params['p'])}" if "p" in params else cls.op_name

    def __init__(self, **hp) -> None:
        super().__init__(**hp)
        if self.hp["p"] >= 1:
            raise HyperError(f"dropout parameter 'p' must be less than 1, got {self.hp['p']!r}")
        self.rng: np.random.Generator = np.random.default_rng(0)
        self.mask: np.ndarray | None = None
        self.reuse_mask = False

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        return tuple(shape)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        self._training = self.training
        if not self.training:
            return x.copy()
        p = self.hp["p"]
        if self.reuse_mask and self.mask is not None and self.mask.shape == x.shape:
            keep = self.mask != 0
        else:
            keep = self.rng.random(x.shape) >= p
        # NOTE: scaling by 1/(1−p) in training keeps E[y] = x, so eval needs no
        # rescaling (inverted dropout, as torch).
        self.mask = keep.astype(x.dtype) / x.dtype.type(1 - p)
        return x * self.mask

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        if not self._training:
            return (gy.copy(),)
        return (gy * self.mask,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        i = index_text(at)
        source, symbol = (ctx.x(at), "x") if tensor == "out" else (ctx.gy(at), "∂L/∂y")
        target = "y" if tensor == "out" else "∂L/∂x"
        if not self.training:
            return Explained(f"{target}{i} = {symbol}{i}", (Term(1.0, (source,)),),
                             "eval: dropout passes everything through unchanged")
        p, scale = self.hp["p"], self._scale(ctx)
        keep = self._kept(at, ctx)
        mask = ctx.constant(f"mask{i} = {'1/(1 − p)' if keep else '0'}",
                            float(scale) if keep else 0.0)
        return Explained(f"{target}{i} = {symbol}{i} · mask{i}", (Term(1.0, (source, mask)),),
                         f"{'kept' if keep else 'dropped'} in this pass (p = {p:g}): the "
                         "mask is 0 or 1/(1 − p), and backward uses the forward pass's mask")

    def _kept(self, at: tuple[int, ...], ctx: OpPass) -> bool:
        """Whether the entry was kept in this pass: the recorded mask when it fits the
        pass, else the choice that reproduces the pass's output and gradient."""
        scale = self._scale(ctx)

        def fits(keep: bool) -> bool:
            factor = scale if keep else 0
            return bool(ctx.inputs[0][at] * factor == ctx.output[at] and (
                not ctx.grad_inputs or ctx.grad_output[at] * factor == ctx.grad_inputs[0][at]))

        if self.mask is not None and self.mask.shape == ctx.output.shape:
            recorded = bool(self.mask[at] != 0)
            if fits(recorded):
                return recorded
        return not fits(False)

    def _scale(self, ctx: OpPass) -> np.ndarray:
        """1/(1 − p) in the pass's dtype, rounded as forward rounds the mask."""
        dtype = ctx.output.dtype
        return np.asarray(1, dtype) / dtype.type(1 - self.hp["p"])


def _statistics(x: np.ndarray, c: int, training: bool, buffers: dict[str, np.ndarray],
                eps: float) -> tuple[float, float, np.ndarray, list[tuple[int, ...]], str]:
    """Channel c's (μ, 1/√(σ² + ε), x̂ of the whole input, the positions of channel c,
    "_B" for batch statistics or "_run" for running ones), computed as the forward pass."""
    axes = (0, *range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if training:
        mean = x.mean(axis=axes)
        centred = x - mean.reshape(shape)
        var = np.mean(centred * centred, axis=axes)
    else:
        mean, var = buffers["running_mean"], buffers["running_var"]
        centred = x - mean.reshape(shape)
    inv_std = 1 / np.sqrt(var + eps)
    x_hat = centred * inv_std.reshape(shape)
    positions = [(n, c, *rest) for n in range(x.shape[0]) for rest in np.ndindex(x.shape[2:])]
    return float(mean[c]), float(inv_std[c]), x_hat, positions, "_B" if training else "_run"
