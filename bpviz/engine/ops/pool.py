"""maxpool2d, avgpool2d and global_avgpool, as torch.nn.functional does them.

Arrays are batch-first N,C,H,W, stored in any order (pooling works in its
input's own). Pooling acts on each channel separately and
has no parameters. Windows are k×k (or kh×kw), `stride` apart (default: the
kernel, so windows tile the input), in torch's floor mode: a partial window
at the bottom or right edge is dropped.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bpviz.engine.explain import Explained, OpPass, Term
from bpviz.engine.op import (
    SAME_AS_INPUT,
    Hyper,
    Op,
    Shape,
    ShapeError,
    pair,
    register,
    short_params,
    window_text,
)
from bpviz.engine.ops.conv import (
    Pair,
    WindowGeometry,
    check_batch,
    linear_text,
    output_size,
    spatial_shape,
    taps,
)
from bpviz.engine.ops.pool_layout import empty_like_layout, in_layout_of, padded_like, unpadded
from bpviz.engine.shape_text import pair_text


class _Pool2d(Op):
    """What max and average pooling share: hyperparameters, shapes, geometry."""

    family = "pooling"
    hypers = (Hyper("kernel", "pair", None, minimum=1, required=True, start=2,
                    doc="window size k, or [kh, kw]"),
              Hyper("stride", "pair", None, minimum=1, same_as="kernel",
                    doc="step s between windows, or [sh, sw]; default: the kernel"),
              Hyper("padding", "pair", 0, minimum=0,
                    doc="pixels added on each side, or [ph, pw]; at most half the kernel"))
    symbols = ("U", "z")
    lecture_layout = True

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        return " ".join([cls.op_name, window_text(params.get("kernel", "?"))]
                        + short_params(cls, params, {"stride": "s", "padding": "p"}))

    def geometry(self) -> tuple[Pair, Pair, Pair]:
        kernel = pair(self.hp["kernel"])
        stride = kernel if self.hp["stride"] is None else pair(self.hp["stride"])
        return kernel, stride, pair(self.hp["padding"])

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        c, h, w = spatial_shape(self.op_name, in_shapes)
        kernel, stride, padding = self.geometry()
        if 2 * padding[0] > kernel[0] or 2 * padding[1] > kernel[1]:
            # torch refuses this too (pad = ⌊k/2⌋ is the most a "same" pooling needs).
            raise ShapeError(f"{self.op_name} padding {pair_text(padding)} is more than "
                             f"half its kernel {pair_text(kernel)}: "
                             "pooling pads at most kernel/2 on each side")
        return (c, *output_size((h, w), kernel, stride, padding))

    def _start(self, x: np.ndarray) -> tuple[Pair, Pair, Pair, Pair]:
        """Validate a forward input; (kernel, stride, padding, (H', W'))."""
        check_batch(self.op_name, x)
        _, oh, ow = self.infer_shape([x.shape[1:]])
        self._x_shape = x.shape
        return (*self.geometry(), (oh, ow))

    def _windows(self, ctx: OpPass) -> WindowGeometry:
        return WindowGeometry(ctx.inputs[0].shape[2:], *self.geometry())

    @staticmethod
    def _window_text(window: Pair, geometry: WindowGeometry) -> tuple[str, str]:
        """U's rows and columns of window (i1, i2): "2+k1", "k2−1"."""
        return tuple(linear_text(s * i - p, 1, var) for i, s, p, var in
                     zip(window, geometry.stride, geometry.padding, ("k1", "k2")))


@register
class MaxPool2d(_Pool2d):
    """Max pooling as torch.nn.functional.max_pool2d: U [N, C, H, W] → z [N, C, H', W'].

    Padding counts as −∞ (it never wins). H' = ⌊(H + 2p − k) / s⌋ + 1.
    `winner` [N, C, H', W'] is, per window, the row-major index k1·k + k2 of the
    tap that won in the last forward (the first maximum; read-only, None before
    a forward or after `release`): bpviz.oracle gives torch's near-ties to it.
    """

    op_name = "maxpool2d"
    output_range = SAME_AS_INPUT
    summary = "Max pooling: keep the largest value of each window, per channel."
    forward_formula = "z[i1,i2,c] = max_{k1,k2} U[s·i1+k1, s·i2+k2, c]"
    backward_formula = ("∂L/∂U[j1,j2,c] = Σ of ∂L/∂z[i1,i2,c] over the windows whose maximum "
                        "is U[j1,j2,c]:  the gradient flows only through the winner, every "
                        "other pixel gets 0",)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        kernel, stride, padding, out_hw = self._start(x)
        padded = padded_like(x, padding, -np.inf)
        shape = (*x.shape[:2], *out_hw)
        best = empty_like_layout(x, shape, x.dtype)
        winner = empty_like_layout(x, shape, np.min_scalar_type(kernel[0] * kernel[1] - 1))
        better = empty_like_layout(x, shape, bool)
        nan_inside = bool(np.isnan(x).any())
        windows = taps(kernel, stride, out_hw)
        if any(padding):
            best[...] = -np.inf
            winner[...] = first_real_tap(kernel, stride, padding, out_hw)
        else:  # the first tap never reads padding: it starts as every window's best
            _, (rows, cols) = next(windows)
            best[...], winner[...] = padded[:, :, rows, cols], 0
        for tap, (rows, cols) in windows:
            window = padded[:, :, rows, cols]
            # NOTE: ties: strict `>` keeps the FIRST maximum in row-major window
            # order, and it alone gets the gradient (torch's CPU rule: equal
            # values do not share it). A NaN always takes over, as in torch.
            np.greater(window, best, out=better)
            if nan_inside:
                better |= np.isnan(window)
            np.maximum(best, window, out=best)
            # Taps come in increasing order and a later one wins only by
            # improving the running maximum: the winner is the last tap that did.
            # (Arithmetic, not a masked copy: masks of random bits are slow.)
            np.maximum(winner, better * winner.dtype.type(tap), out=winner)
        self._winner = winner
        return best

    @property
    def winner(self) -> np.ndarray | None:
        """Each window's winning tap [N, C, H', W'] of the last forward, or None."""
        winner = getattr(self, "_winner", None)
        if winner is None:
            return None
        view = winner.view()
        view.flags.writeable = False
        return view

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        kernel, stride, padding = self.geometry()
        n, c, h, w = self._x_shape
        winner = self._winner
        oh, ow = winner.shape[2:]
        # Windows that tile the input (stride = kernel, no padding) never share
        # a pixel: each tap's share is written, not added.
        tiled = stride == kernel and not any(padding)
        grad = empty_like_layout(winner, (n, c, h + 2 * padding[0], w + 2 * padding[1]),
                                 gy.dtype)
        if not (tiled and oh * kernel[0] == h and ow * kernel[1] == w):
            grad[...] = 0
        hit = np.empty_like(winner, dtype=bool)
        gy = in_layout_of(winner, gy)  # every tap then walks both in the same order
        # g·[winner] is fast, but ±∞·0 would be NaN: route non-finite gradients exactly.
        finite = bool(np.isfinite(gy).all())
        routed = None if tiled and finite else np.empty_like(gy)
        for tap, (rows, cols) in taps(kernel, stride, (oh, ow)):
            np.equal(winner, winner.dtype.type(tap), out=hit)
            target = grad[:, :, rows, cols]
            if tiled and finite:
                np.multiply(gy, hit, out=target)
                continue
            if finite:
                np.multiply(gy, hit, out=routed)
            else:
                routed = np.where(hit, gy, gy.dtype.type(0))
            # NOTE: `+=`: when windows overlap (stride < kernel) one pixel can win
            # several windows and collects the gradient of each.
            if tiled:
                target[...] = routed
            else:
                target += routed
        return (unpadded(grad, padding),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """z[b,c,i1,i2] = the window's winning entry of U; ∂L/∂U[b,c,j1,j2] = Σ of
        ∂L/∂z over the windows U[b,c,j1,j2] won. The winner is found from U itself."""
        geometry = self._windows(ctx)
        if tensor == "out":
            b, c, i1, i2 = at
            tap, pixel = max_winner(ctx.inputs[0][b, c], geometry, (i1, i2))
            rows, cols = self._window_text((i1, i2), geometry)
            rivals = sum(geometry.read((i1, i2), other) is not None for other in geometry.taps())
            note = (f"the winner is tap (k1,k2) = {tap} of the window's {rivals} pixels "
                    "inside U (ties: the first maximum in row-major order; padding never "
                    "wins); only it passes the gradient back")
            return Explained(f"z[{i1},{i2},{c}] = max_{{k1,k2}} U[{rows}, {cols}, {c}] = "
                             f"U[{pixel[0]},{pixel[1]},{c}], sample {b}",
                             (Term(1.0, (ctx.x((b, c, *pixel)),)),), note)
        if tensor == "grad_in/0":
            b, c, j1, j2 = at
            terms, windows = [], 0
            for tap in geometry.taps():
                window = geometry.window_of((j1, j2), tap)
                if window is None:
                    continue
                windows += 1
                if max_winner(ctx.inputs[0][b, c], geometry, window)[1] == (j1, j2):
                    terms.append(Term(1.0, (ctx.gy((b, c, *window)),)))
            formula = (f"∂L/∂U[{j1},{j2},{c}] = Σ ∂L/∂z[i1,i2,{c}] over the windows (i1,i2) "
                       f"whose maximum is U[{j1},{j2},{c}], sample {b}")
            note = (f"U[{j1},{j2},{c}] wins {len(terms)} of the {windows} windows that "
                    "contain it")
            if not terms:
                note += ": its gradient is 0"
            return Explained(formula, tuple(terms), note)
        return super().explain(tensor, at, ctx)


def first_real_tap(kernel: Pair, stride: Pair, padding: Pair, out_hw: Pair) -> np.ndarray:
    """[H', W'] tap index of each window's first pixel that is not padding.

    torch starts every window's search there, so a window holding only −∞
    (possible only when the input holds −∞) gives its gradient to that pixel.
    """
    rows = np.maximum(0, padding[0] - stride[0] * np.arange(out_hw[0]))
    cols = np.maximum(0, padding[1] - stride[1] * np.arange(out_hw[1]))
    return rows[:, None] * kernel[1] + cols[None, :]


def max_winner(plane: np.ndarray, geometry: WindowGeometry,
               window: Pair) -> tuple[Pair, Pair]:
    """(tap, pixel of U) that wins `window` of one [H, W] plane, as forward picks it:
    the first maximum in row-major tap order among the pixels inside U (padding,
    −∞, never wins); a NaN takes over, as in torch."""
    best = winner = None
    for tap in geometry.taps():
        pixel = geometry.read(window, tap)
        if pixel is None:
            continue
        value = plane[pixel]
        # NOTE: strict `>`: an equal value later in the window does not take over.
        if winner is None or value > best or math.isnan(value):
            winner = (tap, pixel)
        best = value if best is None else np.maximum(best, value)
    return winner


@register
class AvgPool2d(_Pool2d):
    """Average pooling as torch.nn.functional.avg_pool2d: U [N, C, H, W] → z [N, C, H', W'].

    Padding adds zeros that count in the average (count_include_pad=True,
    torch's default): every window divides by kh·kw.
    """

    op_name = "avgpool2d"
    output_range = SAME_AS_INPUT  # a mean lies within its numbers (and the padding's 0)
    summary = "Average pooling: the mean of each window, per channel."
    forward_formula = "z[i1,i2,c] = 1/(kh·kw) Σ_{k1,k2} U[s·i1+k1, s·i2+k2, c]"
    backward_formula = ("∂L/∂U[j1,j2,c] = Σ over the windows containing (j1,j2) of "
                        "∂L/∂z[i1,i2,c] / (kh·kw)",)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        kernel, stride, padding, out_hw = self._start(x)
        padded = padded_like(x, padding, 0.0)
        total = empty_like_layout(x, (*x.shape[:2], *out_hw), x.dtype)
        total[...] = 0
        for _, (rows, cols) in taps(kernel, stride, out_hw):
            total += padded[:, :, rows, cols]
        total /= kernel[0] * kernel[1]
        return total

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        kernel, stride, padding = self.geometry()
        n, c, h, w = self._x_shape
        grad = empty_like_layout(gy, (n, c, h + 2 * padding[0], w + 2 * padding[1]), gy.dtype)
        grad[...] = 0
        # NOTE: the divisor is kh·kw even for windows that overlap the padding:
        # the padded zeros count, so border pixels do not get a larger share.
        share = gy / gy.dtype.type(kernel[0] * kernel[1])
        for _, (rows, cols) in taps(kernel, stride, gy.shape[2:]):
            grad[:, :, rows, cols] += share
        return (unpadded(grad, padding),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """z[b,c,i1,i2] = 1/(kh·kw) Σ_{k1,k2} U[…]; ∂L/∂U[b,c,j1,j2] = Σ over the windows
        holding it of 1/(kh·kw) ∂L/∂z. Padded zeros count in the divisor (as torch's
        count_include_pad) but add nothing: they are not terms."""
        geometry = self._windows(ctx)
        kh, kw = geometry.kernel
        share = OpPass.constant(f"1/{kh * kw}", 1.0 / (kh * kw))
        if tensor == "out":
            b, c, i1, i2 = at
            pixels = [geometry.read((i1, i2), tap) for tap in geometry.taps()]
            terms = tuple(Term(1.0, (share, ctx.x((b, c, *pixel))))
                          for pixel in pixels if pixel is not None)
            rows, cols = self._window_text((i1, i2), geometry)
            padded = len(pixels) - len(terms)
            note = (f"{padded} of the {kh * kw} taps are padding: they count in 1/{kh * kw} "
                    "(as torch's count_include_pad) but add 0 and are not terms") if padded else ""
            return Explained(f"z[{i1},{i2},{c}] = 1/({kh}·{kw}) Σ_{{k1,k2}} "
                             f"U[{rows}, {cols}, {c}], sample {b}", terms, note)
        if tensor == "grad_in/0":
            b, c, j1, j2 = at
            windows = [geometry.window_of((j1, j2), tap) for tap in geometry.taps()]
            terms = tuple(Term(1.0, (share, ctx.gy((b, c, *window))))
                          for window in windows if window is not None)
            note = "" if terms else f"no window contains U[{j1},{j2},{c}]: its gradient is 0"
            return Explained(f"∂L/∂U[{j1},{j2},{c}] = Σ over the windows (i1,i2) containing "
                             f"U[{j1},{j2},{c}] of 1/({kh}·{kw}) ∂L/∂z[i1,i2,{c}], sample {b}",
                             terms, note)
        return super().explain(tensor, at, ctx)


@register
class GlobalAvgPool(Op):
    """The mean of each channel: U [N, C, H, W] → z [N, C] (torch: x.mean((2, 3)))."""

    op_name = "global_avgpool"
    output_range = SAME_AS_INPUT
    family = "pooling"
    summary = "Global average pooling: one number per channel, the mean over H×W."
    symbols = ("U", "z")
    lecture_layout = True
    forward_formula = "z[c] = 1/(H·W) Σ_{i1,i2} U[i1,i2,c]"
    backward_formula = ("∂L/∂U[i1,i2,c] = ∂L/∂z[c] / (H·W) for every pixel",)

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        c, _, _ = spatial_shape(self.op_name, in_shapes)
        return (c,)

    def geometry(self):
        return None

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        check_batch(self.op_name, x)
        self._x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        n, c, h, w = self._x_shape
        grad = np.empty((n, c, h, w), dtype=gy.dtype)
        # NOTE: every pixel gets an equal 1/(H·W) share of its channel's gradient.
        grad[...] = (gy / np.asarray(h * w, dtype=gy.dtype))[:, :, None, None]
        return (grad,)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """z[b,c] = 1/(H·W) Σ_{i1,i2} U[b,c,i1,i2]; ∂L/∂U[b,c,i1,i2] = 1/(H·W) ∂L/∂z[b,c]."""
        h, w = ctx.inputs[0].shape[2:]
        share = OpPass.constant(f"1/{h * w}", 1.0 / (h * w))
        if tensor == "out":
            b, c = at
            return Explained(f"z[{c}] = 1/({h}·{w}) Σ_{{i1,i2}} U[i1,i2,{c}], sample {b}",
                             tuple(Term(1.0, (share, ctx.x((b, c, i1, i2))))
                                   for i1 in range(h) for i2 in range(w)))
        if tensor == "grad_in/0":
            b, c, i1, i2 = at
            return Explained(f"∂L/∂U[{i1},{i2},{c}] = 1/({h}·{w}) ∂L/∂z[{c}]: every pixel "
                             f"gets an equal share, sample {b}",
                             (Term(1.0, (share, ctx.gy((b, c)))),))
        return super().explain(tensor, at, ctx)
