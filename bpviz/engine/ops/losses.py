"""Loss functions L(ŷ, y): the end of the forward pass and the start of backward.

Each loss takes one graph input (the prediction ŷ, batch-first) and is called
as `forward(pred, target)`; it returns L as a 0-d array of the prediction's
dtype. `backward(gy)` receives the 0-d upstream gradient ∂(total)/∂L (1 for
the network's loss) and returns (∂L/∂ŷ,).

`reduction` "sum" is the lecture's formula; "mean" (torch's default) divides
it by the number of terms, stated in each formula.

`reduced_formulas` are the forward and backward formulas written for the
node's reduction (bpviz.engine.loss_formulas fills them): {f} is the factor
in front ("" for a sum), {p} and {q} the brackets it needs, {i} the index of
one term, {sum} the sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpviz.engine.explain import Explained, Factor, OpPass, Term, index_text
from bpviz.engine.op import Hyper, Op, Shape, ShapeError, register
from bpviz.engine.ops.activations import sigmoid, softmax
from bpviz.engine.shape_text import shape_text

REDUCTION = Hyper("reduction", "choice", "mean", choices=("mean", "sum"),
                  doc="mean (as torch) or sum (as the lecture's formulas) over the terms")


class _Loss(Op):
    """Shared parts: one graph input, a 0-d output, no receptive-field geometry."""

    family = "loss"
    is_loss = True
    hypers = (REDUCTION,)
    symbols = ("ŷ", "L")
    reduced_formulas: tuple[str, str] = ("", "")
    one_term_per_sample = False  # True: one term per sample (class labels), not per number
    target_symbol = "y"

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        reduction = params.get("reduction")
        return cls.op_name if reduction in (None, "mean") else f"{cls.op_name} ({reduction})"

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        return ()

    def geometry(self):
        return None

    def _float_target(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The target as an array of pred's dtype and shape (never a silent broadcast)."""
        target = np.asarray(target)
        if target.shape != pred.shape:
            raise ShapeError(f"{self.op_name} needs a target shaped like the prediction "
                             f"{list(pred.shape)}, got {list(target.shape)}")
        return target.astype(pred.dtype, copy=False)

    def _reduce(self, terms: np.ndarray) -> np.ndarray:
        """Σ of the per-element terms, divided by their count for "mean"; 0-d, terms' dtype."""
        total = terms.sum()
        if self.hp["reduction"] == "mean":
            total = total / terms.size
        return np.asarray(total, dtype=terms.dtype)

    def _scale(self, gy: np.ndarray, count: int, dtype: np.dtype) -> np.ndarray:
        """The upstream gradient as a 0-d array of `dtype`, divided by `count` for "mean"."""
        gy = np.asarray(gy, dtype=dtype)
        return gy / count if self.hp["reduction"] == "mean" else gy

    def _mean(self, ctx: OpPass, per_sample: bool = False) -> tuple[Factor, ...]:
        """The reduction's factor: (1/(N·F),), or (1/N,) with `per_sample`; () for "sum"."""
        if self.hp["reduction"] != "mean":
            return ()
        pred = ctx.inputs[0]
        count = pred.shape[0] if per_sample else pred.size
        return (ctx.constant("1/N" if per_sample else "1/(N·F)", 1 / count),)


@register
class MSE(_Loss):
    """Squared error between prediction ŷ and target y of one shape [N, ...]."""

    op_name = "mse"
    summary = "Mean squared error between prediction and target."
    forward_formula = "L = Σ_i Σ_k (ŷ_ik − y_ik)²"
    backward_formula = ("∂L/∂ŷ_ik = 2(ŷ_ik − y_ik)  (mean: both times 1/(N·F), one term per "
                        "number)",)
    reduced_formulas = ("L = {f}{sum} (ŷ_{i} − y_{i})²", "∂L/∂ŷ_{i} = {f}2(ŷ_{i} − y_{i})")

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        pred, target = xs
        diff = pred - self._float_target(pred, target)
        self._diff = diff
        return self._reduce(diff * diff)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        diff = self._diff
        return ((2 * self._scale(gy, diff.size, diff.dtype)) * diff,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        mean, (scale, count) = self._mean(ctx), _mean_text(self, ctx)
        pred, y = ctx.inputs[0], np.asarray(ctx.target, dtype=ctx.inputs[0].dtype)
        if tensor == "out":
            terms = []
            for i in np.ndindex(pred.shape):
                diff = ctx.constant(f"(ŷ{index_text(i)} − y{index_text(i)})",
                                    pred[i] - y[i])
                terms += [Term(1.0, (*mean, diff, ctx.x(i))),
                          Term(-1.0, (*mean, diff, ctx.y_true(i)))]
            return Explained(f"L = {scale}Σ_n Σ_k (ŷ[n,k] − y[n,k])²{count}", tuple(terms),
                             "each square (ŷ − y)² is written (ŷ − y)·ŷ − (ŷ − y)·y, "
                             "so that ŷ and y appear as entries")
        i = index_text(at)
        terms = (Term(2.0, (ctx.gy(()), *mean, ctx.x(at))),
                 Term(-2.0, (ctx.gy(()), *mean, ctx.y_true(at))))
        return Explained(f"∂L/∂ŷ{i} = ∂L/∂L · {scale}2 (ŷ{i} − y{i}){count}", terms)


# torch clamps each log in binary_cross_entropy at −100 (so L stays finite at
# ŷ = 0 or 1) and keeps the gradient's denominator ŷ(1 − ŷ) at least 1e-12,
# a single-precision constant even for float64 (1e-12 rounded to float32 is
# 9.99999996e-13; the difference shows in float64 gradients at the clamp).
LOG_FLOOR = -100.0
BCE_EPSILON = float(np.float32(1e-12))


@register
class BCE(_Loss):
    """Binary cross-entropy on probabilities ŷ ∈ [0, 1]; target y ∈ [0, 1], shape of ŷ."""

    op_name = "bce"
    input_range = (0.0, 1.0)  # probabilities: put a sigmoid before it
    summary = "Binary cross-entropy of probabilities ŷ (put a sigmoid before it)."
    forward_formula = "L = −Σ_i Σ_k [y_ik ln ŷ_ik + (1 − y_ik) ln(1 − ŷ_ik)]"
    backward_formula = ("∂L/∂ŷ_ik = (ŷ_ik − y_ik) / (ŷ_ik (1 − ŷ_ik))  "
                        "(mean: both times 1/(N·F), one term per number)",)
    reduced_formulas = ("L = −{f}{sum} [y_{i} ln ŷ_{i} + (1 − y_{i}) ln(1 − ŷ_{i})]",
                        "∂L/∂ŷ_{i} = {f}(ŷ_{i} − y_{i}) / (ŷ_{i} (1 − ŷ_{i}))")

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        pred, target = xs
        y = self._float_target(pred, target)
        if pred.size and not (np.min(pred) >= 0 and np.max(pred) <= 1):
            bad = pred[~((pred >= 0) & (pred <= 1))].flat[0]
            raise ValueError(f"bce needs probabilities in [0, 1] (put a sigmoid before it), "
                             f"got {float(bad)!r}")
        # NOTE: log(0) = −∞ would make L infinite and 0·∞ = nan; like torch,
        # each log is clamped at −100 and log(1 − ŷ) is computed as log1p(−ŷ),
        # which stays accurate for tiny ŷ.
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(pred), LOG_FLOOR)
            log_1mp = np.maximum(np.log1p(-pred), LOG_FLOOR)
        self._pred, self._y = pred, y
        return self._reduce((y - 1) * log_1mp - y * log_p)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        pred, y = self._pred, self._y
        # NOTE: at ŷ = 0 or 1 the exact gradient is infinite; torch divides by
        # max(ŷ(1 − ŷ), 1e-12) instead, giving ±1e12 · (ŷ − y). We do the same,
        # so the numbers agree with torch even at the clamp.
        denom = np.maximum((1 - pred) * pred, pred.dtype.type(BCE_EPSILON))
        return (self._scale(gy, pred.size, pred.dtype) * (pred - y) / denom,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        mean, (scale, count) = self._mean(ctx), _mean_text(self, ctx)
        pred, y = ctx.inputs[0], np.asarray(ctx.target, dtype=ctx.inputs[0].dtype)
        if tensor == "out":
            with np.errstate(divide="ignore"):  # as forward: ln 0 = −∞, then the clamp
                logs = np.log(pred), np.log1p(-pred)
            terms = []
            for i in np.ndindex(pred.shape):
                it = index_text(i)
                terms += [Term(-1.0, (*mean, ctx.y_true(i), _log(f"ln ŷ{it}", logs[0][i]))),
                          Term(-1.0, (*mean, ctx.constant(f"(1 − y{it})", 1 - y[i]),
                                      _log(f"ln(1 − ŷ{it})", logs[1][i])))]
            clamped = int(np.sum(logs[0] < LOG_FLOOR) + np.sum(logs[1] < LOG_FLOOR))
            note = (f"{clamped} logarithm(s) clamped at −100 (ŷ at or next to 0 or 1), as torch"
                    if clamped else "")
            return Explained(f"L = −{scale}Σ_n Σ_k [y[n,k] ln ŷ[n,k] + (1 − y[n,k]) "
                             f"ln(1 − ŷ[n,k])]{count}", tuple(terms), note)
        i = index_text(at)
        product = float((1 - pred[at]) * pred[at])
        denominator = max(product, BCE_EPSILON)
        label = (f"1/(ŷ{i}(1 − ŷ{i}))" if product >= BCE_EPSILON
                 else f"1/max(ŷ{i}(1 − ŷ{i}), 1e-12)")
        inverse = ctx.constant(label, 1 / denominator)
        terms = (Term(1.0, (ctx.gy(()), *mean, ctx.x(at), inverse)),
                 Term(-1.0, (ctx.gy(()), *mean, ctx.y_true(at), inverse)))
        note = ("" if product >= BCE_EPSILON else
                f"ŷ{i}(1 − ŷ{i}) = {product:g} is below 1e-12: the denominator is clamped "
                "there, as torch (the exact gradient is infinite at ŷ = 0 or 1)")
        return Explained(f"∂L/∂ŷ{i} = ∂L/∂L · {scale}(ŷ{i} − y{i}) / (ŷ{i}(1 − ŷ{i})){count}",
                         terms, note)


@register
class BCEWithLogits(_Loss):
    """Binary cross-entropy on logits z (ŷ = σ(z) inside); target y ∈ [0, 1], shape of z."""

    op_name = "bce_with_logits"
    summary = "Sigmoid and binary cross-entropy in one numerically stable step."
    symbols = ("z", "L")
    forward_formula = "ŷ_ik = σ(z_ik),  L = −Σ_i Σ_k [y_ik ln ŷ_ik + (1 − y_ik) ln(1 − ŷ_ik)]"
    backward_formula = ("∂L/∂z_ik = ŷ_ik − y_ik  (mean: both times 1/(N·F), one term per "
                        "number)",)
    reduced_formulas = ("ŷ_{i} = σ(z_{i}),  L = −{f}{sum} [y_{i} ln ŷ_{i} "
                        "+ (1 − y_{i}) ln(1 − ŷ_{i})]",
                        "∂L/∂z_{i} = {f}{p}ŷ_{i} − y_{i}{q}")

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        z, target = xs
        y = self._float_target(z, target)
        # NOTE: −[y log σ(z) + (1−y) log(1−σ(z))] = max(z, 0) − z y + log(1 + e^(−|z|)):
        # e^(−|z|) ≤ 1 never overflows and no log of 0 appears for large |z|.
        terms = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        self._z, self._y = z, y
        return self._reduce(terms)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        z, y = self._z, self._y
        return (self._scale(gy, z.size, z.dtype) * (sigmoid(z) - y),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        mean, (scale, count) = self._mean(ctx), _mean_text(self, ctx)
        z = ctx.inputs[0]
        if tensor == "out":
            # −[y ln σ(z) + (1 − y) ln(1 − σ(z))] = ln(1 + e^z) − z·y, and
            # ln(1 + e^z) = max(z, 0) + ln(1 + e^(−|z|)) as forward computes it.
            softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
            terms = []
            for i in np.ndindex(z.shape):
                terms += [Term(1.0, (*mean, ctx.constant(f"ln(1 + e^(z{index_text(i)}))",
                                                         softplus[i]))),
                          Term(-1.0, (*mean, ctx.x(i), ctx.y_true(i)))]
            return Explained(f"L = −{scale}Σ_n Σ_k [y[n,k] ln σ(z[n,k]) + (1 − y[n,k]) "
                             f"ln(1 − σ(z[n,k]))] = {scale}Σ_n Σ_k [ln(1 + e^(z[n,k])) "
                             f"− z[n,k] y[n,k]]{count}",
                             tuple(terms), "ŷ = σ(z) is computed inside the loss")
        i = index_text(at)
        terms = (Term(1.0, (ctx.gy(()), *mean, ctx.constant(f"σ(z{i})", sigmoid(z)[at]))),
                 Term(-1.0, (ctx.gy(()), *mean, ctx.y_true(at))))
        return Explained(f"∂L/∂z{i} = ∂L/∂L · {scale}(σ(z{i}) − y{i}){count}", terms)


@register
class SoftmaxCrossEntropy(_Loss):
    """Softmax over K classes and cross-entropy with integer labels.

    Logits z [N, K], labels [N] with values in 0..K−1 (as torch's
    F.cross_entropy). y is the one-hot encoding of the labels.
    """

    op_name = "softmax_cross_entropy"
    summary = "Softmax and cross-entropy with class labels, in one stable step."
    symbols = ("z", "L")
    forward_formula = "ŷ_i = softmax(z_i),  L = −Σ_i Σ_k y_ik ln ŷ_ik"
    backward_formula = ("∂L/∂z_i = ŷ_i − y_i  (y_i one-hot; mean: both times 1/N, N the "
                        "batch size)",)
    reduced_formulas = ("ŷ_i = softmax(z_i),  L = −{f}Σ_i Σ_k y_ik ln ŷ_ik",
                        "∂L/∂z_i = {f}{p}ŷ_i − y_i{q}  (y_i one-hot)")
    one_term_per_sample = True
    target_symbol = "y one-hot"

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        if len(shape) != 1:
            raise ShapeError(f"softmax_cross_entropy needs flat class scores [K], got "
                             f"{shape_text(shape)}: add a flatten or dense node")
        return ()

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        z, target = xs
        self.infer_shape([z.shape[1:]])
        labels = self._labels(z, target)
        n = z.shape[0]
        # NOTE: log ŷ is computed as (z − max) − log Σ e^(z − max): exponentials
        # of large logits would overflow, and log of a rounded-to-0 ŷ is −∞.
        shifted = z - np.max(z, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        self._probs = softmax(z, axis=1)
        self._labels_used = labels
        return self._reduce(-log_probs[np.arange(n), labels])

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        probs, labels = self._probs, self._labels_used
        n = probs.shape[0]
        grad = probs.copy()
        grad[np.arange(n), labels] -= 1
        return (self._scale(gy, n, probs.dtype) * grad,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        mean, (scale, count) = self._mean(ctx, True), _mean_text(self, ctx, True)
        z = ctx.inputs[0]
        labels = np.asarray(ctx.target).astype(np.int64)
        shown = "[" + ", ".join(map(str, labels[:8])) + (", …]" if len(labels) > 8 else "]")
        if tensor == "out":
            shifted = z - np.max(z, axis=1, keepdims=True)  # as forward: no overflow
            log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
            terms = tuple(Term(-1.0, (*mean, ctx.constant(f"ln ŷ[{n},{c}]", log_probs[n, c])))
                          for n, c in enumerate(labels))
            return Explained(f"L = −{scale}Σ_n Σ_k y[n,k] ln ŷ[n,k] = −{scale}Σ_n ln ŷ[n,y[n]]"
                             f"{count}", terms,
                             f"ŷ = softmax(z) inside the loss; the labels y = {shown} are "
                             "one-hot: only the true class's term is left")
        n, k = at
        i = index_text(at)
        terms = (Term(1.0, (ctx.gy(()), *mean,
                            ctx.constant(f"ŷ{i}", softmax(z[n:n + 1], axis=1)[0, k]))),
                 Term(-1.0, (ctx.gy(()), *mean,
                             ctx.constant(f"1[y[{n}] = {k}]", float(labels[n] == k)))))
        return Explained(f"∂L/∂z{i} = ∂L/∂L · {scale}(ŷ{i} − y{i}){count}", terms,
                         f"y{i} = 1[y[{n}] = {k}]: the one-hot label (y[{n}] = {labels[n]})")

    def _labels(self, z: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Integer labels as int64, checked against the batch size and the K classes."""
        target = np.asarray(target)
        n, k = z.shape
        if target.shape != (n,):
            raise ShapeError(f"softmax_cross_entropy needs one label per sample ({n}), got "
                             f"labels of shape {list(target.shape)}")
        if not np.issubdtype(target.dtype, np.integer):
            integral = (np.issubdtype(target.dtype, np.floating)
                        and np.all(np.isfinite(target)) and np.all(target == np.round(target)))
            if not integral:
                raise ValueError(f"softmax_cross_entropy needs integer class labels, got "
                                 f"{target.dtype} values")
        labels = target.astype(np.int64)
        bad = labels[(labels < 0) | (labels >= k)]
        if bad.size:
            raise ValueError(f"softmax_cross_entropy label {int(bad[0])} is out of range: "
                             f"labels must lie in 0..{k - 1} for {k} classes")
        return labels


def _mean_text(loss: _Loss, ctx: OpPass, per_sample: bool = False) -> tuple[str, str]:
    """("1/(N·F) · ", ",  N·F = 4·3") for a mean, ("", "") for a sum."""
    if loss.hp["reduction"] != "mean":
        return "", ""
    pred = ctx.inputs[0]
    n = pred.shape[0]
    if per_sample:
        return "1/N · ", f",  N = {n}"
    return "1/(N·F) · ", f",  N·F = {n}·{pred.size // max(n, 1)}"


def _log(text: str, log: np.floating) -> Factor:
    """A logarithm of bce's forward pass as a constant, clamped at −100 as torch."""
    if log >= LOG_FLOOR:
        return OpPass.constant(text, log)
    return OpPass.constant(f"max({text}, −100)", LOG_FLOOR)
