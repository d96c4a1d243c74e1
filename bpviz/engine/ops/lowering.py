"""conv2d lowered to one matrix product: im2col, the GEMM layouts, col2im.

The columns are channel-major: row (c, k1, k2), column (n, i, j), so that a
row holds, for one sample, the pixels one kernel tap reads for every output
position, in the input's own order. They are copied from a zero-padded copy
of the input, U_pad [N, C, H + 2ph + 1, W + 2pw] (one spare zero row).

Wide rows. With horizontal stride 1 the copy reads whole padded rows: column
j runs over all Wp = W + 2pw padded columns instead of the W' outputs, so for
one (c, k1, k2, n) the row is a single contiguous run of H'·Wp pixels of
U_pad (the spare row keeps the last run inside the array). The Wp − W' extra
columns per output row are junk: the GEMM computes them and the output view
leaves them out; in backward their gradient is set to zero, so they add
nothing. This costs (Wp − W') / W' more GEMM work, so it is used only where
that is small; otherwise j runs over the W' outputs alone.

Forward is one GEMM per sample of the batch (one matmul call) writing
straight into the N, C, H', W' output; backward is one GEMM for ∂J/∂W over
the whole batch, one for the columns' gradient, and col2im: one strided add
per kernel tap.

Kept columns. ∂J/∂W needs the columns again in backward. A conv keeps its own
column matrix from forward to backward while the columns every conv of this
thread keeps add up to at most KEPT_COLUMNS_BYTES (the least recently used
give theirs up first); any other conv writes its columns into one shared
scratch buffer and copies them again, from its padded input, in backward.
Once ∂J/∂W is made the columns are used up, so the columns' gradient (or the
correlation's columns) go into that same scratch buffer.
So a small network keeps all its columns (no second copy), and a VGG16 holds
96 MiB of them instead of 300 MiB (float32, one image).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from contextlib import nullcontext

import numpy as np
from numpy.lib.stride_tricks import as_strided

from bpviz.engine.scratch import scratch

Pair = tuple[int, int]


def is_batch_last(x: np.ndarray) -> bool:
    """True when x [N, C, H, W] is stored batch-innermost, in C, H, W, N order."""
    return x.shape[0] > 1 and x.transpose(1, 2, 3, 0).flags.c_contiguous


def wants_batch_last(x: np.ndarray, out_w: int) -> bool:
    """The layout for a conv's columns: batch-innermost for small images or when x has it."""
    return x.shape[0] > 1 and (out_w < SMALL_WIDTH or is_batch_last(x))


KEPT_COLUMNS_BYTES = 96 * 2**20  # per thread: column matrices kept from forward to backward
COLUMNS = ("conv-columns",)  # the scratch key of shared columns and of their gradient
_kept = threading.local()


def _kept_lowerings() -> OrderedDict:
    """This thread's lowerings that keep their columns, least recently used first."""
    kept = getattr(_kept, "lowerings", None)
    if kept is None:
        kept = _kept.lowerings = OrderedDict()
    return kept


SMALL_WIDTH = 16  # narrower outputs give short runs in batch-first columns
WIDE_MIN = 32  # wide rows only for outputs at least this wide


class Lowering:
    """The im2col geometry of one conv2d for one input shape and layout, and its arrays."""

    def __init__(self, x_shape: tuple[int, ...], dtype, kernel: Pair, stride: Pair,
                 padding: Pair, dilation: Pair, out_hw: Pair, batch_last: bool) -> None:
        self.x_shape, self.dtype, self.batch_last = tuple(x_shape), np.dtype(dtype), batch_last
        n, c, h, w = self.x_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh, ow = out_hw
        hp, wp = h + 2 * ph, w + 2 * pw
        self.out_hw, self.padding = out_hw, padding
        wide = not batch_last and sw == 1 and ow >= WIDE_MIN and (wp - ow) * 4 <= ow
        self.wc = wp if wide else ow  # columns per output row in the GEMM
        self.kernel, self.dilation, self.hp, self.wp = kernel, dilation, hp, wp
        # With stride 1 and wide rows ∂J/∂U is itself a correlation (see input_grad).
        self.correlate_back = wide and sh == 1
        self.k = c * kh * kw
        if batch_last:
            self.pad_shape, self.to_nchw = (c, hp, wp, n), (3, 0, 1, 2)
            self.cols_shape, order = (c, kh, kw, oh, ow, n), "c k1 k2 i j n"
        else:
            self.pad_shape, self.to_nchw = (n, c, hp + wide, wp), (0, 1, 2, 3)
            self.cols_shape, order = (c, kh, kw, n, oh, self.wc), "c k1 k2 n i j"
        # Persistent, per conv: the padded input (its border stays zero) and the
        # columns, which backward needs after forward.
        self.padded = np.zeros(self.pad_shape, self.dtype)
        self.interior = self.nchw(self.padded)
        sn, sc, sr, sq = self.padded.transpose(self.to_nchw).strides
        # Byte strides of cols (c, k1, k2, n, i, j) → U_pad[n, c, sh·i + dh·k1, sw·j + dw·k2].
        axis = {"c": sc, "k1": dh * sr, "k2": dw * sq, "n": sn, "i": sh * sr, "j": sw * sq}
        self.window_strides = tuple(axis[name] for name in order.split())
        self.windows = as_strided(self.padded, self.cols_shape, self.window_strides,
                                  writeable=False)
        self.cols_bytes = int(np.prod(self.cols_shape)) * self.dtype.itemsize
        self.cols: np.ndarray | None = None  # its own columns, while it keeps them
        self._forward_cols: np.ndarray | None = None  # from `columns` to `product`
        self.cols = self._kept_columns()

    def _kept_columns(self) -> np.ndarray | None:
        """Columns of its own, when they fit beside the other kept ones; else None."""
        kept, key = _kept_lowerings(), id(self)
        if self.cols is not None and key in kept:
            kept.move_to_end(key)
            return self.cols
        if self.cols_bytes > KEPT_COLUMNS_BYTES:
            return None
        # A copy of a network (or another thread) may bring columns this thread never counted.
        total = self.cols_bytes + sum(other.cols_bytes for other in _alive(kept))
        while total > KEPT_COLUMNS_BYTES and kept:
            _, ref = kept.popitem(last=False)
            other = ref()
            if other is not None and other.cols is not None:
                other.cols = None
                total -= other.cols_bytes
        kept[key] = weakref.ref(self, lambda _ref, kept=kept, key=key: kept.pop(key, None))
        return self.cols if self.cols is not None else np.empty(self.cols_shape, self.dtype)

    def _fill_columns(self) -> np.ndarray:
        """The columns of the padded input: its own array, or the shared scratch one."""
        self.cols = self._kept_columns()
        cols = self.cols if self.cols is not None else scratch(COLUMNS, self.cols_shape,
                                                               self.dtype)
        np.copyto(cols, self.windows)
        return cols

    def _backward_columns(self) -> np.ndarray:
        """The columns forward made: kept, or copied again from the padded input."""
        if self.cols is not None:
            return self.cols
        cols = scratch(COLUMNS, self.cols_shape, self.dtype)
        np.copyto(cols, self.windows)
        return cols

    def matches(self, x: np.ndarray, batch_last: bool) -> bool:
        return x.shape == self.x_shape and x.dtype == self.dtype and batch_last == self.batch_last

    def nchw(self, padded: np.ndarray) -> np.ndarray:
        """The unpadded [N, C, H, W] view of an array laid out like the padded input."""
        (_, _, h, w), (ph, pw) = self.x_shape, self.padding
        return padded.transpose(self.to_nchw)[:, :, ph:ph + h, pw:pw + w]

    # -- forward ---------------------------------------------------------------
    def columns(self, x: np.ndarray) -> np.ndarray:
        """im2col: the [C·kh·kw, N·H'·Wc] column matrix of x (overwritten by the next call)."""
        np.copyto(self.interior, x)
        self._forward_cols = self._fill_columns()
        return self._forward_cols.reshape(self.k, -1)

    def product(self, w_mat: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """Z = W · columns as a fresh [N, out, H', W'] array (a view in the columns' order)."""
        n, (oh, ow), out = self.x_shape[0], self.out_hw, w_mat.shape[0]
        cols, self._forward_cols = self._forward_cols, None
        if self.batch_last:
            z = np.matmul(w_mat, cols.reshape(self.k, -1))
            if bias is not None:
                z += bias[:, None]
            return z.reshape(out, oh, ow, n).transpose(3, 0, 1, 2)
        z = np.empty((n, out, oh * self.wc), self.dtype)
        per_sample = cols.reshape(self.k, n, oh * self.wc).transpose(1, 0, 2)
        np.matmul(w_mat, per_sample, out=z)
        if bias is not None:
            z += bias[:, None]
        return z.reshape(n, out, oh, self.wc)[:, :, :, :ow]

    # -- backward --------------------------------------------------------------
    def output_grad(self, gy: np.ndarray) -> np.ndarray:
        """∂J/∂Z as [out, N·H'·Wc] in the columns' order, zero in junk columns (read only)."""
        n, out = gy.shape[0], gy.shape[1]
        oh, ow = self.out_hw
        if self.batch_last:
            g = gy.transpose(1, 2, 3, 0)
            if g.flags.c_contiguous:
                return g.reshape(out, -1)
            buffer = scratch(("conv-grad",), g.shape, self.dtype)
            np.copyto(buffer, g)
            return buffer.reshape(out, -1)
        buffer = scratch(("conv-grad",), (out, n, oh, self.wc), self.dtype)
        np.copyto(buffer[:, :, :, :ow], gy.transpose(1, 0, 2, 3))
        buffer[:, :, :, ow:] = 0
        return buffer.reshape(out, -1)

    def weight_grad(self, g: np.ndarray) -> np.ndarray:
        """∂J/∂W_mat = G · columnsᵀ: [out, C·kh·kw], summed over the batch and positions."""
        wide = self.wc != self.out_hw[1]
        cols = self._backward_columns()
        with np.errstate(invalid="ignore") if wide else nullcontext():
            dw = g @ cols.reshape(self.k, -1).T
        if wide and not np.isfinite(dw).all():
            # Junk columns may hold an input's inf or NaN, and 0·inf is NaN: redo the
            # product without them (only ever for non-finite data).
            cols[..., self.out_hw[1]:] = 0
            dw = g @ cols.reshape(self.k, -1).T
        return dw

    def input_grad(self, w_mat: np.ndarray, g: np.ndarray) -> np.ndarray:
        """∂J/∂U: columns' gradient Wᵀ·G, then col2im; a fresh [N, C, H, W] array (a view)."""
        # The correlation copies out·kh·kw rows, col2im adds C·kh·kw: pick the smaller.
        if self.correlate_back and 2 * self.x_shape[1] >= len(w_mat) and np.isfinite(w_mat).all():
            return self._input_grad_by_correlation(w_mat, g)
        dcols = scratch(COLUMNS, self.cols_shape, self.dtype)  # the columns are used up
        np.matmul(w_mat.T, g, out=dcols.reshape(self.k, -1))
        if self.wc != self.out_hw[1] and not np.isfinite(w_mat).all():
            dcols[..., self.out_hw[1]:] = 0  # inf·0 in the junk columns would be NaN
        grad = np.zeros(self.pad_shape, self.dtype)
        spread = as_strided(grad, self.cols_shape, self.window_strides)
        _, kh, kw = self.cols_shape[:3]
        for k1 in range(kh):
            for k2 in range(kw):
                # NOTE: `+=`, not `=`: with overlapping windows (stride < span) one
                # input pixel feeds several outputs, and its gradient is their sum.
                spread[:, k1, k2] += dcols[:, k1, k2]
        # NOTE: gradients that land on the zero padding are dropped (padding is
        # not an input), and with stride > 1 pixels no window reads get zero.
        return self.nchw(grad)

    def _input_grad_by_correlation(self, w_mat: np.ndarray, g: np.ndarray) -> np.ndarray:
        """∂J/∂U for stride 1 and wide rows, without col2im.

        In the flat coordinates of U_pad (t = row·Wp + column) the forward pass is
        Z[t] = Σ_taps W_tap · U_pad[t + o_tap], o_tap = dh·k1·Wp + dw·k2; so
        ∂J/∂U_pad[t] = Σ_taps W_tapᵀ · G[t − o_tap], with G zero outside the real
        outputs (the junk columns are already zero). That is one GEMM of the
        weights with columns read from a zero-extended copy of G: contiguous runs
        of Hp·Wp, written straight into ∂J/∂U_pad, batch-first.
        """
        (n, c, h, w), (ph, pw) = self.x_shape, self.padding
        out, (kh, kw), (dh, dw) = g.shape[0], self.kernel, self.dilation
        run, plane = self.out_hw[0] * self.wp, self.hp * self.wp
        reach = dh * (kh - 1) * self.wp + dw * (kw - 1)  # the largest o_tap
        extended = scratch(("conv-grad-extended", reach, run), (out, n, reach + plane),
                           self.dtype, zero=True)  # zero outside [reach, reach + run)
        extended[:, :, reach:reach + run] = g.reshape(out, n, run)
        # Only the H rows of U_pad that are not padding: t from ph·Wp, h·Wp of them.
        item, rows = self.dtype.itemsize, h * self.wp
        shifted = as_strided(extended[:, :, reach + ph * self.wp:], (out, kh, kw, n, rows),
                             (n * (reach + plane) * item, -dh * self.wp * item, -dw * item,
                              (reach + plane) * item, item), writeable=False)
        cols = scratch(COLUMNS, shifted.shape, self.dtype)  # the columns are used up
        np.copyto(cols, shifted)
        # Rows (m, k1, k2) of the columns meet W[m, c, k1, k2]: W with its first two axes swapped.
        w_back = w_mat.reshape(out, c, kh * kw).transpose(1, 0, 2).reshape(c, -1)
        grad = np.empty((n, c, rows), self.dtype)
        np.matmul(w_back, cols.reshape(out * kh * kw, n, rows).transpose(1, 0, 2), out=grad)
        return grad.reshape(n, c, h, self.wp)[:, :, :, pw:pw + w]


def _alive(kept: OrderedDict) -> list[Lowering]:
    return [lowering for ref in kept.values()
            if (lowering := ref()) is not None and lowering.cols is not None]
