"""conv2d, and the window helpers the pooling ops share with it.

Arrays are batch-first N,C,H,W (their shape: in memory a conv's output may be
stored in another order, see bpviz.engine.ops.lowering). A kernel of size k with dilation d spans
d(k − 1) + 1 pixels; along each axis the output has
H' = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1 pixels (torch's floor mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from typing import Any

import numpy as np

from bpviz.engine.init import init_weight
from bpviz.engine.op import Hyper, Op, Shape, ShapeError, pair, register, short_params, window_text
from bpviz.engine.ops.lowering import Lowering, wants_batch_last
from bpviz.engine.shape_text import pair_text, shape_text

Pair = tuple[int, int]


# -- shared window geometry --------------------------------------------------
def spatial_shape(op_name: str, in_shapes: list[Shape]) -> tuple[int, int, int]:
    """The one per-sample input shape as (C, H, W), or a ShapeError."""
    (shape,) = in_shapes
    if len(shape) != 3:
        raise ShapeError(f"{op_name} needs a [C, H, W] input, got {shape_text(shape)}")
    return int(shape[0]), int(shape[1]), int(shape[2])


def span_of(kernel: Pair, dilation: Pair) -> Pair:
    """Pixels covered by a dilated kernel: d(k − 1) + 1 along each axis."""
    return dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1


def output_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair,
                dilation: Pair = (1, 1)) -> Pair:
    """(H', W') after sliding the kernel, or a ShapeError if it does not fit once."""
    span = span_of(kernel, dilation)
    padded = (size[0] + 2 * padding[0], size[1] + 2 * padding[1])
    if span[0] <= padded[0] and span[1] <= padded[1]:
        return (padded[0] - span[0]) // stride[0] + 1, (padded[1] - span[1]) // stride[1] + 1
    where = "padded input" if any(padding) else "input"
    shown = shape_text(padded)
    if dilation == (1, 1):
        raise ShapeError(f"kernel {pair_text(kernel)} is larger than its {where} {shown}")
    raise ShapeError(f"kernel {pair_text(kernel)} with dilation {pair_text(dilation)} "
                     f"spans {pair_text(span)} pixels but its {where} is {shown}")


def check_batch(op_name: str, x: np.ndarray) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{op_name} needs a batch [N, C, H, W], got {shape_text(x.shape)}")


def taps(kernel: Pair, stride: Pair, out_hw: Pair,
         dilation: Pair = (1, 1)) -> Iterator[tuple[int, tuple[slice, slice]]]:
    """For each kernel offset (k1, k2), row-major: its flat index k1·kw + k2 and
    the (rows, cols) slices of the padded input that it reads for every output pixel.
    """
    (sh, sw), (oh, ow) = stride, out_hw
    for k1, k2 in product(range(kernel[0]), range(kernel[1])):
        r, q = k1 * dilation[0], k2 * dilation[1]
        yield (k1 * kernel[1] + k2,
               (slice(r, r + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw)))


# -- the op --------------------------------------------------------------------
@register
class Conv2d(Op):
    """2-D convolution as torch.nn.functional.conv2d (a cross-correlation: no flip).

    U [N, C, H, W] → Z [N, out, H', W'], H' = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1.
    weight [out, C, kh, kw] and bias [out], torch's layout: the lecture's
    W[k1, k2, n, m] is weight[m, n, k1, k2]. Padding adds zeros.

    Forward is im2col plus one GEMM: Z = W_mat [out, C·kh·kw] @ cols [C·kh·kw, N·H'·W'].
    Backward: ∂J/∂W = one GEMM of ∂J/∂Z with the cached columns; ∂J/∂U = one
    GEMM back to columns, then col2im. bpviz.engine.ops.lowering lays the
    columns out for speed; the output (and ∂J/∂U) may be a strided view.
    """

    op_name = "conv2d"
    family = "layer"
    hypers = (Hyper("out_channels", "int", None, minimum=1, maximum=1_000_000, required=True,
                    start=8, doc="number of output channels (filters)"),
              Hyper("kernel", "pair", None, minimum=1, required=True, start=3,
                    doc="kernel size k, or [kh, kw]"),
              Hyper("stride", "pair", 1, minimum=1, doc="step s between windows, or [sh, sw]"),
              Hyper("padding", "pair", 0, minimum=0, start=1,
                    doc="zeros added on each side, or [ph, pw]"),
              Hyper("dilation", "pair", 1, minimum=1,
                    doc="spacing d between kernel taps, or [dh, dw]"),
              Hyper("bias", "bool", True, doc="add a learned bias b per output channel"))
    summary = "2-D convolution: each output channel slides one k×k×C filter over U."
    symbols = ("U", "Z")
    lecture_layout = True
    forward_formula = "Z[i1,i2,m] = Σ_{k1,k2,n} W[k1,k2,n,m] U[i1+k1, i2+k2, n] + b[m]"
    backward_formula = (
        "∂L/∂W[k1,k2,n,m] = Σ_{i1,i2} U[i1+k1, i2+k2, n] ∂L/∂Z[i1,i2,m]",
        "∂L/∂b[m] = Σ_{i1,i2} ∂L/∂Z[i1,i2,m]",
        "∂L/∂U = full correlation of ∂L/∂Z with the flipped kernel.  "
        "With stride s and dilation d read U[s·i1 + d·k1, s·i2 + d·k2, n] "
        "(U zero-padded by p); for ∂L/∂U spread ∂L/∂Z out by s and the "
        "kernel taps by d; the W and b sums also run over the batch.")

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        words = [cls.op_name, str(params.get("out_channels", "?")),
                 window_text(params.get("kernel", "?"))]
        return " ".join(words + short_params(cls, params, {"stride": "s", "padding": "p",
                                                           "dilation": "d"}))

    def _geometry(self) -> tuple[Pair, Pair, Pair, Pair]:
        hp = self.hp
        return pair(hp["kernel"]), pair(hp["stride"]), pair(hp["padding"]), pair(hp["dilation"])

    def geometry(self):
        kernel, stride, padding, dilation = self._geometry()
        return span_of(kernel, dilation), stride, padding

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        _, h, w = spatial_shape(self.op_name, in_shapes)
        kernel, stride, padding, dilation = self._geometry()
        return (self.hp["out_channels"], *output_size((h, w), kernel, stride, padding, dilation))

    def param_shapes(self, in_shapes: list[Shape]) -> dict[str, Shape]:
        c, _, _ = spatial_shape(self.op_name, in_shapes)
        kh, kw = pair(self.hp["kernel"])
        shapes = {"weight": (self.hp["out_channels"], c, kh, kw)}
        if self.hp["bias"]:
            shapes["bias"] = (self.hp["out_channels"],)
        return shapes

    def init_params(self, in_shapes, rng, dtype, scheme) -> None:
        shape = self.param_shapes(in_shapes)["weight"]
        out, c, kh, kw = shape
        self.params["weight"] = init_weight(shape, c * kh * kw, out * kh * kw, scheme, rng, dtype)
        if self.hp["bias"]:
            self.params["bias"] = np.zeros(out, dtype)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        check_batch(self.op_name, x)
        weight = self.params["weight"]
        if x.shape[1] != weight.shape[1]:
            raise ShapeError(f"conv2d weight expects {weight.shape[1]} input channels, "
                             f"got {x.shape[1]}")
        lowering = self._lowering_for(x)
        lowering.columns(x)
        # Parameters follow the input's dtype: float32 in, float32 out.
        bias = self.params["bias"].astype(x.dtype, copy=False) if self.hp["bias"] else None
        return lowering.product(self._w_mat(x.dtype), bias)

    def _lowering_for(self, x: np.ndarray) -> Lowering:
        """The cached im2col plan and working arrays for this input shape and dtype."""
        _, oh, ow = self.infer_shape([x.shape[1:]])
        batch_last = wants_batch_last(x, ow)
        lowering = getattr(self, "_lowering", None)
        if lowering is None or not lowering.matches(x, batch_last):
            lowering = Lowering(x.shape, x.dtype, *self._geometry(), (oh, ow), batch_last)
            self._lowering = lowering
        return lowering

    def _w_mat(self, dtype) -> np.ndarray:
        weight = self.params["weight"]
        return weight.reshape(weight.shape[0], -1).astype(dtype, copy=False)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        lowering = self._lowering
        weight = self.params["weight"]
        g = lowering.output_grad(gy)  # [out, N·H'·Wc]
        if self.trainable:
            # NOTE: one weight serves every output pixel of every sample, so its
            # gradient is a sum over the batch and all positions (one GEMM).
            dw = lowering.weight_grad(g).reshape(weight.shape)
            self.grads["weight"] = dw.astype(weight.dtype, copy=False)
            if self.hp["bias"]:
                db = gy.sum(axis=(0, 2, 3))
                self.grads["bias"] = db.astype(self.params["bias"].dtype, copy=False)
        return (lowering.input_grad(self._w_mat(gy.dtype), g),)
