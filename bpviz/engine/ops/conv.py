"""conv2d, and the window helpers the pooling ops share with it.

Arrays are batch-first N,C,H,W (their shape: in memory a conv's output may be
stored in another order, see bpviz.engine.ops.lowering). A kernel of size k with dilation d spans
d(k − 1) + 1 pixels; along each axis the output has
H' = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1 pixels (torch's floor mode).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np

from bpviz.engine.explain import Explained, OpPass, Term
from bpviz.engine.init import init_weight
from bpviz.engine.op import Hyper, Op, Shape, ShapeError, pair, register, short_params, window_text
from bpviz.engine.ops.conv1x1 import OneByOne
from bpviz.engine.ops.lowering import Lowering, is_batch_last, wants_batch_last
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


# -- where windows read: for the explanation of one entry ------------------------
@dataclass(frozen=True)
class WindowGeometry:
    """Which pixel of U [H, W] tap (k1, k2) of window (i1, i2) reads:
    (s·i1 + d·k1 − p, s·i2 + d·k2 − p), or nothing when that is padding."""

    size: Pair
    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair = (1, 1)

    @property
    def out_size(self) -> Pair:
        return output_size(self.size, self.kernel, self.stride, self.padding, self.dilation)

    def taps(self) -> Iterator[Pair]:
        """Kernel offsets (k1, k2) in row-major order."""
        return product(range(self.kernel[0]), range(self.kernel[1]))

    def read(self, window: Pair, tap: Pair) -> Pair | None:
        pixel = tuple(s * i + d * k - p for i, k, s, d, p in
                      zip(window, tap, self.stride, self.dilation, self.padding))
        inside = all(0 <= j < size for j, size in zip(pixel, self.size))
        return pixel if inside else None

    def window_of(self, pixel: Pair, tap: Pair) -> Pair | None:
        """The window whose tap (k1, k2) reads `pixel`, if there is one."""
        window = []
        for j, k, s, d, p, size in zip(pixel, tap, self.stride, self.dilation,
                                       self.padding, self.out_size):
            shifted = j + p - d * k
            if shifted % s or not 0 <= shifted // s < size:
                return None
            window.append(shifted // s)
        return tuple(window)


def number_text(n: int) -> str:
    return f"−{-n}" if n < 0 else str(n)


def linear_text(offset: int, coefficient: int, variable: str, number_first: bool = True) -> str:
    """offset + coefficient·variable as an index reads: 2+k1, −1+k1, 3−k1, 2·i1, or
    with the number last (the lecture's U[i1+k1] with k1 known): i1+1, i1−1."""
    scaled = variable if abs(coefficient) == 1 else f"{abs(coefficient)}·{variable}"
    if offset == 0:
        return scaled if coefficient > 0 else f"−{scaled}"
    if not number_first and coefficient > 0:
        return f"{scaled}{'+' if offset > 0 else '−'}{abs(offset)}"
    sign = "+" if coefficient > 0 else "−"
    return f"{number_text(offset)}{sign}{scaled}"


def over_batch(batch: int) -> str:
    return f", summed over the batch (N = {batch})" if batch > 1 else ""


def lecture_order_note(extra: str = "") -> str:
    """The labels name stored entries; the formula line is the lecture's order."""
    stored = "labels are stored indices: U[b,n,h,w], W[m,n,k1,k2], Z[b,m,i1,i2]"
    return f"{extra}; {stored}" if extra else stored


# -- the op --------------------------------------------------------------------
@register
class Conv2d(Op):
    """2-D convolution as torch.nn.functional.conv2d (a cross-correlation: no flip).

    U [N, C, H, W] → Z [N, out, H', W'], H' = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1.
    weight [out, C, kh, kw] and bias [out], torch's layout: the lecture's
    W[k1, k2, n, m] is weight[m, n, k1, k2]. Padding adds zeros.

    Forward is im2col plus a GEMM: Z = W_mat [out, C·kh·kw] @ cols [C·kh·kw, N·H'·W'].
    Backward: ∂J/∂W = a GEMM of ∂J/∂Z with the columns made again; ∂J/∂U = a
    GEMM back to columns, then col2im. bpviz.engine.ops.lowering makes the
    columns a block at a time and lays them out for speed; the output (and
    ∂J/∂U) may be a strided view.
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
        # Parameters follow the input's dtype: float32 in, float32 out.
        bias = self.params["bias"].astype(x.dtype, copy=False) if self.hp["bias"] else None
        return lowering.forward(x, self._w_mat(x.dtype), bias)

    def _lowering_for(self, x: np.ndarray) -> Lowering | OneByOne:
        """The cached plan (im2col, or plain products for 1×1) for this input shape and dtype."""
        _, oh, ow = self.infer_shape([x.shape[1:]])
        kernel, stride, padding, dilation = self._geometry()
        direct = OneByOne.suits(kernel, stride, padding)
        batch_last = is_batch_last(x) if direct else wants_batch_last(x, ow)
        lowering = getattr(self, "_lowering", None)
        if (lowering is None or isinstance(lowering, OneByOne) != direct
                or not lowering.matches(x, batch_last)):
            if direct:
                lowering = OneByOne(x.shape, x.dtype, batch_last)
            else:
                lowering = Lowering(x.shape, x.dtype, self.hp["out_channels"], kernel, stride,
                                    padding, dilation, (oh, ow), batch_last)
            self._lowering = lowering
        return lowering

    def release(self) -> None:
        super().release()
        lowering = getattr(self, "_lowering", None)
        if isinstance(lowering, OneByOne):
            lowering.release()  # its reference to the input

    def _w_mat(self, dtype) -> np.ndarray:
        weight = self.params["weight"]
        return weight.reshape(weight.shape[0], -1).astype(dtype, copy=False)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        lowering = self._lowering
        weight = self.params["weight"]
        g = lowering.output_grad(gy)  # [N (or 1), out, H'·Wc]
        if self.trainable:
            # NOTE: one weight serves every output pixel of every sample, so its
            # gradient is a sum over the batch and all positions (one GEMM).
            dw = lowering.weight_grad(g).reshape(weight.shape)
            self.grads["weight"] = dw.astype(weight.dtype, copy=False)
            if self.hp["bias"]:
                db = gy.sum(axis=(0, 2, 3))
                self.grads["bias"] = db.astype(self.params["bias"].dtype, copy=False)
        return (lowering.input_grad(self._w_mat(gy.dtype), g),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """Z[b,m,i1,i2] = Σ_{n,k1,k2} W[m,n,k1,k2] U[b,n,s·i1+d·k1−p, s·i2+d·k2−p] + b[m]
        and its three gradients, as sums over the taps that read U itself: a tap
        that lands in the zero padding adds nothing and is not a term."""
        kernel, stride, padding, dilation = self._geometry()
        u = ctx.inputs[0]
        geometry = WindowGeometry(u.shape[2:], kernel, stride, padding, dilation)
        if tensor == "out":
            return _conv_out(at, ctx, geometry, self.hp["bias"])
        if tensor == "grad/weight":
            return _conv_weight_grad(at, ctx, geometry)
        if tensor == "grad/bias":
            return _conv_bias_grad(at, ctx)
        if tensor == "grad_in/0":
            return _conv_input_grad(at, ctx, geometry, self.params["weight"].shape[0])
        return super().explain(tensor, at, ctx)


# -- explanations ----------------------------------------------------------------
def _tap_vars(geometry: WindowGeometry, window: Pair) -> tuple[str, str]:
    return tuple(linear_text(s * i - p, d, var) for i, s, p, d, var in
                 zip(window, geometry.stride, geometry.padding, geometry.dilation,
                     ("k1", "k2")))


def _padding_note(skipped: int, total: int, what: str) -> str:
    return f"{skipped} of {total} {what} in the zero padding: not terms" if skipped else ""


def _conv_out(at, ctx: OpPass, geometry: WindowGeometry, bias: bool) -> Explained:
    b, m, i1, i2 = at
    channels = ctx.inputs[0].shape[1]
    terms, skipped = [], 0
    for tap in geometry.taps():
        pixel = geometry.read((i1, i2), tap)
        if pixel is None:
            skipped += 1
            continue
        for n in range(channels):
            terms.append(Term(1.0, (ctx.param("weight", (m, n, *tap)),
                                    ctx.x((b, n, *pixel)))))
    if bias:
        terms.append(Term(1.0, (ctx.param("bias", (m,)),)))
    r, c = _tap_vars(geometry, (i1, i2))
    formula = (f"Z[{i1},{i2},{m}] = Σ_{{k1,k2,n}} W[k1,k2,n,{m}] U[{r}, {c}, n]"
               f"{f' + b[{m}]' if bias else ''}, sample {b}")
    total = geometry.kernel[0] * geometry.kernel[1]
    return Explained(formula, tuple(terms),
                     lecture_order_note(_padding_note(skipped, total, "taps (k1,k2) land")))


def _conv_weight_grad(at, ctx: OpPass, geometry: WindowGeometry) -> Explained:
    m, n, k1, k2 = at
    batch = ctx.inputs[0].shape[0]
    oh, ow = geometry.out_size
    terms, skipped = [], 0
    for b, i1, i2 in product(range(batch), range(oh), range(ow)):
        pixel = geometry.read((i1, i2), (k1, k2))
        if pixel is None:
            skipped += 1
            continue
        terms.append(Term(1.0, (ctx.x((b, n, *pixel)), ctx.gy((b, m, i1, i2)))))
    r, c = (linear_text(d * k - p, s, var, number_first=False) for k, s, p, d, var in
            zip((k1, k2), geometry.stride, geometry.padding, geometry.dilation, ("i1", "i2")))
    formula = (f"∂L/∂W[{k1},{k2},{n},{m}] = Σ_{{i1,i2}} U[{r}, {c}, {n}] ∂L/∂Z[i1,i2,{m}]"
               f"{over_batch(batch)}")
    note = _padding_note(skipped, batch * oh * ow, "(sample, window) pairs read this tap")
    return Explained(formula, tuple(terms), lecture_order_note(note))


def _conv_bias_grad(at, ctx: OpPass) -> Explained:
    (m,) = at
    batch, _, oh, ow = ctx.grad_output.shape
    terms = tuple(Term(1.0, (ctx.gy((b, m, i1, i2)),))
                  for b, i1, i2 in product(range(batch), range(oh), range(ow)))
    return Explained(f"∂L/∂b[{m}] = Σ_{{i1,i2}} ∂L/∂Z[i1,i2,{m}]{over_batch(batch)}", terms,
                     lecture_order_note())


def _conv_input_grad(at, ctx: OpPass, geometry: WindowGeometry, filters: int) -> Explained:
    b, n, j1, j2 = at
    terms, missing = [], 0
    for m, tap in product(range(filters), geometry.taps()):
        # NOTE: with stride s only every s-th shift lands on a window: a tap whose
        # j + p − d·k is not a multiple of s (or leaves Z) sends nothing back here.
        window = geometry.window_of((j1, j2), tap)
        if window is None:
            missing += 1
            continue
        terms.append(Term(1.0, (ctx.param("weight", (m, n, *tap)), ctx.gy((b, m, *window)))))
    rows, cols = (linear_text(j + p, -d, var) if s == 1 else f"({linear_text(j + p, -d, var)})/{s}"
                  for j, s, p, d, var in zip((j1, j2), geometry.stride, geometry.padding,
                                             geometry.dilation, ("k1", "k2")))
    formula = (f"∂L/∂U[{j1},{j2},{n}] = Σ_{{m,k1,k2}} W[k1,k2,{n},m] ∂L/∂Z[{rows}, {cols}, m], "
               f"over the taps whose Z entry exists, sample {b}")
    note = (f"{missing} of {filters * geometry.kernel[0] * geometry.kernel[1]} (m, k1, k2) "
            "read no entry of Z (outside it, or between strides): not terms") if missing else ""
    return Explained(formula, tuple(terms), lecture_order_note(note))
