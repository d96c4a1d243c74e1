"""Activations u = g_act(z), applied element by element (softmax: across channels).

Every activation keeps the input's shape and dtype. The backward pass is the
chain rule with a diagonal Jacobian, ∂L/∂z = ∂L/∂u ⊙ g'(z), except softmax,
whose outputs all depend on every input of the same sample and position.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bpviz.engine.explain import Explained, Factor, OpPass, Term, index_text
from bpviz.engine.op import Hyper, Op, Shape, ShapeError, number_text, register


class _Activation(Op):
    """Shared shape rule: any input shape, the output has the same shape."""

    family = "activation"
    symbols = ("z", "u")
    elementwise = True

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        return tuple(shape)


@register
class ReLU(_Activation):
    """u = max(0, z) for input [N, ...] of any shape.

    g'(z) = 1[z > 0]: the gradient passes where the unit was active.
    `kink_side` is that mask 1[z > 0] from the last forward (read-only; None
    before a forward or after `release`): bpviz.oracle compares torch near
    z = 0 on this side.
    """

    op_name = "relu"
    relu_like = True
    output_range = (0.0, math.inf)
    summary = "ReLU u = max(0, z): passes positive values, zeroes the rest."
    forward_formula = "u = max(0, z)"
    backward_formula = ("∂L/∂z = ∂L/∂u ⊙ 1[z > 0]",)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (z,) = xs
        # One pass, in z's own memory layout; a NaN stays NaN, as in torch.
        self._u = np.maximum(z, constant(0, z.dtype))
        return self._u

    @property
    def kink_side(self) -> np.ndarray | None:
        """1[z > 0] [N, ...] of the last forward (u > 0 exactly there), or None."""
        u = getattr(self, "_u", None)
        return None if u is None else np.greater(u, constant(0, u.dtype))

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: ReLU is not differentiable at z = 0; like torch we use the
        # subgradient 0 there (1[z > 0], not 1[z >= 0]). u > 0 exactly where z > 0.
        active = np.greater(self._u, constant(0, self._u.dtype))
        if gy.size > SMALL and np.isfinite(gy).all():
            return (gy * active,)  # exact: g·1 = g and g·0 = 0 for finite g
        return (np.where(active, gy, constant(0, gy.dtype)),)  # ±∞·0 would be NaN

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        i = index_text(at)
        gate = ctx.constant(f"1[z{i} > 0]", 1.0 if float(ctx.inputs[0][at]) > 0 else 0.0)
        return _pointwise(tensor, at, ctx, f"max(0, z{i}) = z{i} · 1[z{i} > 0]",
                          Term(1.0, (ctx.x(at), gate)), gate)


@register
class LeakyReLU(_Activation):
    """u = z for z > 0, u = a·z otherwise (a = slope), input [N, ...] of any shape.

    `kink_side` is 1[z > 0] from the last forward (read-only; None before a
    forward or after `release`): bpviz.oracle compares torch near z = 0 on
    this side.
    """

    op_name = "leaky_relu"
    relu_like = True
    hypers = (Hyper("slope", "float", 0.01, minimum=0.0,
                    doc="factor a applied to negative inputs"),)
    summary = "Leaky ReLU: negative inputs are scaled by a small slope a instead of zeroed."
    forward_formula = "u = z if z > 0 else a z"
    backward_formula = ("∂L/∂z = ∂L/∂u ⊙ (1 if z > 0 else a)",)

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        return f"leaky_relu {number_text(params['slope'])}" if "slope" in params else cls.op_name

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (z,) = xs
        self._z = z
        # NOTE: `z * slope` with a Python float keeps float32; a NumPy float64
        # scalar would silently upcast the whole array. For a ≤ 1, z > a·z
        # exactly when z > 0, so the larger of the two is the answer.
        slope = self.hp["slope"]
        return (np.maximum if slope <= 1 else np.minimum)(z, z * slope)

    @property
    def kink_side(self) -> np.ndarray | None:
        """1[z > 0] [N, ...] of the last forward, or None."""
        z = getattr(self, "_z", None)
        return None if z is None else np.greater(z, constant(0, z.dtype))

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: at exactly z = 0 the gradient is the slope a (torch's choice).
        slope = gy.dtype.type(self.hp["slope"])
        active = np.greater(self._z, constant(0, self._z.dtype))
        # The factor is exactly 1 or a, so g·factor is torch's g or g·a.
        factor = np.maximum(active, slope) if slope <= 1 else np.where(active, 1, slope)
        return (gy * factor.astype(gy.dtype, copy=False),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        i = index_text(at)
        if float(ctx.inputs[0][at]) > 0:
            slope = ctx.constant(f"1 (z{i} > 0)", 1.0)
        else:  # z = 0 included: torch's slope there
            slope = ctx.constant(f"a (z{i} ≤ 0)", self.hp["slope"])
        text = f"z{i} · (1 if z{i} > 0 else a),  a = {self.hp['slope']:g}"
        return _pointwise(tensor, at, ctx, text, Term(1.0, (ctx.x(at), slope)), slope)


@register
class Sigmoid(_Activation):
    """u = σ(z) = 1 / (1 + e^(−z)) for input [N, ...] of any shape."""

    op_name = "sigmoid"
    output_range = (0.0, 1.0)
    summary = "Sigmoid σ(z) = 1/(1 + e^(−z)): squashes values into (0, 1)."
    forward_formula = "u = σ(z) = 1/(1 + e^(−z))"
    backward_formula = ("∂L/∂z = ∂L/∂u ⊙ σ(z)(1 − σ(z))",)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (z,) = xs
        self._u = sigmoid(z)
        return self._u

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: the derivative is written with the output u = σ(z), which the
        # forward pass already computed: σ'(z) = u (1 − u).
        u = self._u
        return (gy * (constant(1, u.dtype) - u) * u,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        i = index_text(at)
        u = float(sigmoid(ctx.inputs[0][at]))
        value = ctx.constant(f"σ(z{i})", u)
        slope = ctx.constant(f"σ(z{i})(1 − σ(z{i}))", u * (1 - u))
        return _pointwise(tensor, at, ctx, f"σ(z{i}) = 1/(1 + e^(−z{i}))",
                          Term(1.0, (value,)), slope)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) without overflow: e^(−|z|) never exceeds 1, whatever the sign of z.

    σ(z) = 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, with e = e^(−|z|).
    """
    one, zero = constant(1, z.dtype), constant(0, z.dtype)
    e = np.exp(-np.abs(z))
    s = one / (one + e)
    if z.size <= SMALL:
        return np.where(z >= zero, s, e * s)
    # Without a masked choice (slow on large arrays): the factor is 1 for z ≥ 0
    # (e ≤ 1) and e for z < 0.
    return s * np.maximum(e, z >= zero)


SMALL = 1024  # elements; below this a masked choice (np.where) is the cheaper form
_CONSTANTS: dict[tuple[int, np.dtype], np.ndarray] = {}


def constant(value: int, dtype: np.dtype) -> np.ndarray:
    """A read-only 0-d array of `dtype`: the cheapest scalar operand for a ufunc (cached)."""
    key = (value, dtype)
    array = _CONSTANTS.get(key)
    if array is None:
        array = _CONSTANTS[key] = np.full((), value, dtype)
        array.flags.writeable = False
    return array


@register
class Tanh(_Activation):
    """u = tanh(z) for input [N, ...] of any shape."""

    op_name = "tanh"
    output_range = (-1.0, 1.0)
    summary = "tanh: squashes values into (−1, 1)."
    forward_formula = "u = tanh(z)"
    backward_formula = ("∂L/∂z = ∂L/∂u ⊙ (1 − tanh²(z))",)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (z,) = xs
        self._u = np.tanh(z)
        return self._u

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        u = self._u
        return (gy * (constant(1, u.dtype) - u * u),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        i = index_text(at)
        u = float(np.tanh(ctx.inputs[0][at]))
        return _pointwise(tensor, at, ctx, f"tanh(z{i})",
                          Term(1.0, (ctx.constant(f"tanh(z{i})", u),)),
                          ctx.constant(f"(1 − tanh²(z{i}))", 1 - u * u))


@register
class Softmax(_Activation):
    """ŷ_k = e^(z_k) / Σ_j e^(z_j) over axis 1 (classes or channels) of [N, K, ...].

    For [N, C, H, W] inputs every pixel gets its own softmax over the C
    channels, as torch.softmax(z, dim=1).
    """

    op_name = "softmax"
    output_range = (0.0, 1.0)
    summary = "Softmax over axis 1: turns scores into probabilities that sum to 1."
    symbols = ("z", "ŷ")
    elementwise = False  # every output of a sample and position depends on every input
    forward_formula = "ŷ_k = e^(z_k) / Σ_j e^(z_j)"
    backward_formula = ("∂L/∂z_k = ŷ_k (∂L/∂ŷ_k − Σ_j ∂L/∂ŷ_j ŷ_j)",)

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        if len(shape) == 0:
            raise ShapeError("softmax needs samples with a class axis, got single numbers")
        return tuple(shape)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (z,) = xs
        self._y = softmax(z, axis=1)
        return self._y

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: the Jacobian is diag(ŷ) − ŷ ŷᵀ, not diagonal: every output
        # depends on every input, so the gradient of one class reaches all.
        y = self._y
        return (y * (gy - np.sum(gy * y, axis=1, keepdims=True)),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        k = at[1]
        row = [(*at[:1], j, *at[2:]) for j in range(ctx.output.shape[1])]
        i, ik = _row_text(at), index_text(at)
        if tensor == "out":
            z = np.asarray(ctx.inputs[0][(at[0], slice(None), *at[2:])], dtype=np.float64)
            # NOTE: e^z overflows beyond z ≈ 709; the largest z is then taken
            # out of every exponent (it cancels between the numerator and Σ).
            shift = float(np.max(z)) if not -700 < float(np.max(z)) < 700 else 0.0
            minus = f" − {shift:g}" if shift else ""
            e = np.exp(z - shift)
            terms = (Term(1.0, (ctx.constant(f"e^(z{ik}{minus})", float(e[k])),
                                ctx.constant(f"1/Σ_j e^(z{i}{minus})", 1 / math.fsum(e)))),)
            return Explained(f"ŷ{ik} = e^(z{ik}) / Σ_j e^(z{i})", terms,
                             f"the largest score {shift:g} is subtracted from every exponent "
                             "(it cancels)" if shift else "")
        # NOTE: δ_jk − ŷ_k is written as two terms, ŷ_k ∂L/∂ŷ_k and −Σ_j ŷ_k ŷ_j ∂L/∂ŷ_j:
        # as one constant, 1 − ŷ_k would lose the digits of a ŷ_k near 1.
        terms = (Term(1.0, (ctx.gy(at), ctx.y(at))),) + tuple(
            Term(-1.0, (ctx.gy(j_at), ctx.y(j_at), ctx.y(at))) for j_at in row)
        return Explained(f"∂L/∂z{ik} = ŷ{ik} (∂L/∂ŷ{ik} − Σ_j ∂L/∂ŷ{i} · ŷ{i}), "
                         f"from Σ_j ∂L/∂ŷ{i} · ŷ{i} · (δ_j{k} − ŷ{ik})", terms,
                         "the softmax Jacobian ∂ŷ_j/∂z_k = ŷ_j (δ_jk − ŷ_k) is not diagonal: "
                         "every class's gradient reaches z_k")


def _pointwise(tensor: str, at: tuple[int, ...], ctx: OpPass, value_text: str,
               out_term: Term, local: Factor) -> Explained:
    """An elementwise activation's entry: u = g(z) as one term, or
    ∂L/∂z = ∂L/∂u · g'(z) with the local derivative g'(z) as a labelled constant."""
    i = index_text(at)
    if tensor == "out":
        return Explained(f"u{i} = {value_text}", (out_term,))
    return Explained(f"∂L/∂z{i} = ∂L/∂u{i} · {local.label}", (Term(1.0, (ctx.gy(at), local)),),
                     f"g'(z{i}) = {local.label} is the local derivative of u = g(z): "
                     "one number per entry (the Jacobian is diagonal)")


def _row_text(at: tuple[int, ...]) -> str:
    """The index of a whole softmax row: the class axis (axis 1) as j."""
    return "[" + ",".join(["j" if axis == 1 else str(i) for axis, i in enumerate(at)]) + "]"


def softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """Softmax along `axis`; subtracting the maximum keeps e^z from overflowing."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


@register
class GELU(_Activation):
    """u = ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))) for input [N, ...] of any shape:
    the tanh form of the Gaussian error linear unit, as torch's gelu(approximate="tanh").

    g'(z) = ½ (1 + t) + ½ z (1 − t²) √(2/π) (1 + 3·0.044715 z²), t = tanh(√(2/π) (z + 0.044715 z³)).
    """

    op_name = "gelu"
    summary = "GELU (tanh form): a smooth ReLU, u ≈ z for large z and ≈ 0 for very negative z."
    forward_formula = "u = ½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))"
    backward_formula = ("∂L/∂z = ∂L/∂u ⊙ g'(z)",
                        "g'(z) = ½ (1 + t) + ½ z (1 − t²) √(2/π) (1 + 3·0.044715 z²),  "
                        "t = tanh(√(2/π) (z + 0.044715 z³))")

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (z,) = xs
        self._z = z
        return gelu(z)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: g'(z) is not a gate between 0 and 1 as ReLU's: the product rule
        # adds ½ z (1 − t²)·…, so g' exceeds 1 just above 0 (≈ 1.13 at z ≈ 1.5)
        # and is negative below z ≈ −0.75, where the gradient changes sign.
        return (gy * gelu_slope(self._z),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        z = np.asarray(ctx.inputs[0])[tuple(at)]
        x, u, where = ctx.x_name(), ctx.y_symbol, index_text(at)
        if tensor == "out":
            return Explained(f"{u}{where} = ½ z (1 + tanh(√(2/π) (z + 0.044715 z³))) "
                             f"with z = {x}{where} = {float(z):.6g}",
                             (Term(1.0, (ctx.constant(f"gelu({x}{where})", float(gelu(z))),)),))
        if tensor == "grad_in/0":
            slope = ctx.constant(f"g'({x}{where})", float(gelu_slope(z)))
            return Explained(f"{ctx.d(x)}{where} = {ctx.d(u)}{where} · g'({x}{where}), "
                             f"g'(z) = ½ (1 + t) + ½ z (1 − t²) √(2/π) (1 + 3·0.044715 z²) "
                             f"at z = {float(z):.6g}",
                             (Term(1.0, (ctx.gy(at), slope)),))
        return super().explain(tensor, at, ctx)


GELU_SCALE = math.sqrt(2 / math.pi)  # √(2/π)
GELU_CUBIC = 0.044715


def gelu(z: np.ndarray) -> np.ndarray:
    """½ z (1 + tanh(√(2/π) (z + 0.044715 z³))), in z's dtype."""
    return 0.5 * z * (1 + np.tanh(GELU_SCALE * (z + GELU_CUBIC * z * z * z)))


def gelu_slope(z: np.ndarray) -> np.ndarray:
    """g'(z) of the tanh form, in z's dtype."""
    t = np.tanh(GELU_SCALE * (z + GELU_CUBIC * z * z * z))
    return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_SCALE * (1 + 3 * GELU_CUBIC * z * z)
