"""conv2d lowered to matrix products, a block of columns at a time: im2col, GEMM, col2im.

The columns are channel-major: row (c, k1, k2), column (n, i, j), so that a
row holds, for one sample, the pixels one kernel tap reads for every output
position, in the input's own order. They are copied from a zero-padded copy
of the input, U_pad [N, C, H + 2ph + 1, W + 2pw] (one spare zero row), which
the conv keeps from forward to backward.

Blocks. The whole column matrix is C·kh·kw times the output's size; written
out at once it goes to main memory and comes back for the product, and that
traffic costs about as much as the arithmetic. So the columns are made a
block at a time, a few output rows of one sample (or a few whole samples of
small images), about BLOCK_BYTES, and each block is multiplied while it is
still in the CPU's cache: Z[:, block] = W_mat · columns[:, block]. Backward
makes the same blocks again from U_pad for ∂J/∂W = Σ_blocks G_block ·
columns_blockᵀ, so nothing the size of the columns is ever held.

Wide rows. With horizontal stride 1 the copy reads whole padded rows: column
j runs over all Wp = W + 2pw padded columns instead of the W' outputs, so for
one (c, k1, k2, n) a block's row is a single contiguous run of U_pad (the
spare row keeps the last run inside the array). The Wp − W' extra columns per
output row are junk: the GEMM computes them and the output view leaves them
out; in backward their gradient is set to zero, so they add nothing. This
costs (Wp − W') / W' more GEMM work, so it is used only where that is small;
otherwise j runs over the W' outputs alone.

Batch innermost. For small images (or an input already stored that way) the
columns are (c, k1, k2, i, j, n), the batch innermost, and the output is
stored [out, H', W', N]: long runs even where rows are short.
"""

from __future__ import annotations

import functools
import math
from contextlib import nullcontext

import numpy as np
from numpy.lib.stride_tricks import as_strided

from bpviz.engine.parallel import run_blocks, run_shares
from bpviz.engine.scratch import scratch

Pair = tuple[int, int]


def is_batch_last(x: np.ndarray) -> bool:
    """True when x [N, C, H, W] is stored batch-innermost, in C, H, W, N order."""
    return x.shape[0] > 1 and x.transpose(1, 2, 3, 0).flags.c_contiguous


def wants_batch_last(x: np.ndarray, out_w: int) -> bool:
    """The layout for a conv's columns: batch-innermost for small images or when x has it."""
    return x.shape[0] > 1 and (out_w < SMALL_WIDTH or is_batch_last(x))


SMALL_WIDTH = 16  # narrower outputs give short runs in batch-first columns
WIDE_MIN = 8  # wide rows only for outputs at least this wide
BLOCK_BYTES = 2**20  # columns made at a time: about what stays in the CPU's cache
# ∂J/∂W adds up one [out, C·kh·kw] product per block: blocks have at least
# out·C·kh·kw·itemsize / SUM_SHARE columns, so that sum costs little beside the GEMMs.
SUM_SHARE = 4096
COLUMNS = ("conv-columns",)  # the scratch key of a block of columns (or of their gradient)


class Blocks:
    """Ranges of GEMM columns: (g0, g1, i0, i1) = groups g0…g1−1, rows i0…i1−1 of each.

    A group is a sample (batch first) or the whole batch (batch innermost); a
    row is one output row, `row_columns` GEMM columns. A block is a few rows of
    one group, or a few whole groups when one group is smaller than a block.
    """

    def __init__(self, groups: int, rows: int, row_columns: int, wanted_columns: int) -> None:
        self.groups, self.rows, self.row_columns = groups, rows, row_columns
        self.by_rows = rows * row_columns >= wanted_columns
        if self.by_rows:
            per_block = max(1, math.ceil(wanted_columns / row_columns))
            parts = math.ceil(rows / per_block)
            self.per_block = math.ceil(rows / parts)  # even blocks
        else:
            self.per_block = max(1, wanted_columns // (rows * row_columns))

    @property
    def first(self) -> tuple[int, int, int, int]:
        """The first block, the largest (without listing them all: a memory estimate
        asks this of batches far too big to run)."""
        if self.by_rows:
            return 0, 1, 0, min(self.rows, self.per_block)
        return 0, min(self.groups, self.per_block), 0, self.rows

    @functools.cached_property
    def ranges(self) -> list[tuple[int, int, int, int]]:
        rows, per_block = self.rows, self.per_block
        if self.by_rows:
            return [(g, g + 1, i, min(rows, i + per_block))
                    for g in range(self.groups) for i in range(0, rows, per_block)]
        return [(g, min(self.groups, g + per_block), 0, rows)
                for g in range(0, self.groups, per_block)]

    def __iter__(self):
        return iter(self.ranges)

    def columns(self, i0: int, i1: int) -> slice:
        """The GEMM columns of rows i0…i1−1 within one group."""
        return slice(i0 * self.row_columns, i1 * self.row_columns)


def wanted_columns(k: int, out: int, itemsize: int) -> int:
    """GEMM columns per block for columns of k rows and a product with `out` rows."""
    return max(BLOCK_BYTES // (k * itemsize), out * k * itemsize // SUM_SHARE, 1)


class Lowering:
    """The im2col geometry of one conv2d for one input shape and layout, and its padded input."""

    def __init__(self, x_shape: tuple[int, ...], dtype, out: int, kernel: Pair, stride: Pair,
                 padding: Pair, dilation: Pair, out_hw: Pair, batch_last: bool) -> None:
        self.x_shape, self.dtype, self.batch_last = tuple(x_shape), np.dtype(dtype), batch_last
        n, c, h, w = self.x_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh, ow = out_hw
        hp, wp = h + 2 * ph, w + 2 * pw
        self.out, self.out_hw, self.padding = out, out_hw, padding
        wide = not batch_last and sw == 1 and ow >= WIDE_MIN and (wp - ow) * 4 <= ow
        self.wc = wp if wide else ow  # columns per output row in the GEMM
        self.kernel, self.stride, self.dilation = kernel, stride, dilation
        self.hp, self.wp = hp, wp
        # With stride 1 and wide rows ∂J/∂U is itself a correlation (see input_grad).
        self.correlate_back = wide and sh == 1
        self.k = c * kh * kw
        if batch_last:
            self.pad_shape, self.to_nchw = (c, hp, wp, n), (3, 0, 1, 2)
            self.groups, self.row = 1, (ow, n)
        else:
            self.pad_shape, self.to_nchw = (n, c, hp + wide, wp), (0, 1, 2, 3)
            self.groups, self.row = n, (self.wc,)
        self.row_columns = math.prod(self.row)
        self.padded = np.zeros(self.pad_shape, self.dtype)  # its border stays zero
        self.interior = self.nchw(self.padded)
        sn, sc, sr, sq = self.padded.transpose(self.to_nchw).strides
        # Byte strides of the columns (c, k1, k2, group, i, row…) in U_pad.
        row_strides = (sw * sq, sn) if batch_last else (sw * sq,)
        self.window_shape = (c, kh, kw, self.groups, oh, *self.row)
        self.window_strides = (sc, dh * sr, dw * sq, 0 if batch_last else sn, sh * sr,
                               *row_strides)
        self.windows = as_strided(self.padded, self.window_shape, self.window_strides,
                                  writeable=False)
        self.blocks = Blocks(self.groups, oh, self.row_columns,
                             wanted_columns(self.k, out, self.dtype.itemsize))
        # ∂J/∂Z in the GEMM's order, [groups, out, lead + H'·Wc + tail]: the
        # correlation reads it shifted, zero beyond the outputs (see input_grad).
        if self.correlate_back:
            self.lead = dh * (kh - 1) * wp + dw * (kw - 1)  # the largest tap offset
            self.tail = (hp - oh) * wp
        else:
            self.lead = self.tail = 0
        self._extended: np.ndarray | None = None  # output_grad's whole buffer

    def _blocks_share_pixels(self) -> bool:
        """Whether two blocks' windows can read the same input pixel."""
        whole_samples = all(i1 - i0 == self.out_hw[0] for _, _, i0, i1 in self.blocks)
        span = self.dilation[0] * (self.kernel[0] - 1) + 1
        return (self.batch_last or not whole_samples) and span > self.stride[0]

    def matches(self, x: np.ndarray, batch_last: bool) -> bool:
        return x.shape == self.x_shape and x.dtype == self.dtype and batch_last == self.batch_last

    def nchw(self, padded: np.ndarray) -> np.ndarray:
        """The unpadded [N, C, H, W] view of an array laid out like the padded input."""
        (_, _, h, w), (ph, pw) = self.x_shape, self.padding
        return padded.transpose(self.to_nchw)[:, :, ph:ph + h, pw:pw + w]

    def _columns(self, g0: int, g1: int, i0: int, i1: int) -> np.ndarray:
        """One block of columns, [C·kh·kw, groups, rows·Wc] (a scratch array)."""
        c, kh, kw = self.window_shape[:3]
        block = scratch(COLUMNS, (c, kh, kw, g1 - g0, i1 - i0, *self.row), self.dtype)
        np.copyto(block, self.windows[:, :, :, g0:g1, i0:i1])
        return block.reshape(self.k, g1 - g0, -1)

    # -- forward ---------------------------------------------------------------
    def forward(self, x: np.ndarray, w_mat: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        """Z = W · columns(x) as a fresh [N, out, H', W'] array (a view in the GEMM's order)."""
        np.copyto(self.interior, x)
        n, (oh, ow), out = self.x_shape[0], self.out_hw, w_mat.shape[0]
        z = np.empty((self.groups, out, oh * self.row_columns), self.dtype)

        def block(at: tuple[int, int, int, int]) -> None:
            g0, g1, i0, i1 = at
            part = z[g0:g1, :, self.blocks.columns(i0, i1)]
            np.matmul(w_mat, self._columns(*at).transpose(1, 0, 2), out=part)
            if bias is not None:
                part += bias[:, None]

        run_blocks(block, self.blocks.ranges)
        if self.batch_last:
            return z.reshape(out, oh, ow, n).transpose(3, 0, 1, 2)
        return z.reshape(n, out, oh, self.wc)[:, :, :, :ow]

    # -- backward --------------------------------------------------------------
    def output_grad(self, gy: np.ndarray) -> np.ndarray:
        """∂J/∂Z as [groups, out, H'·Wc] in the GEMM's order, zero in junk columns (read only)."""
        n, out = gy.shape[0], gy.shape[1]
        oh, ow = self.out_hw
        if self.batch_last:
            g = gy.transpose(1, 2, 3, 0)
            if g.flags.c_contiguous:
                return g.reshape(1, out, -1)
            buffer = scratch(("conv-grad",), g.shape, self.dtype)
            np.copyto(buffer, g)
            return buffer.reshape(1, out, -1)
        run = oh * self.wc
        buffer = scratch(("conv-grad", self.lead, self.tail),
                         (n, out, self.lead + run + self.tail), self.dtype,
                         zero=self.correlate_back)  # lead and tail are never written
        self._extended = buffer
        body = buffer[:, :, self.lead:self.lead + run]
        rows = body.reshape(n, out, oh, self.wc)
        np.copyto(rows[:, :, :, :ow], gy)
        rows[:, :, :, ow:] = 0
        return body

    def weight_grad(self, g: np.ndarray) -> np.ndarray:
        """∂J/∂W_mat = Σ_blocks G · columnsᵀ: [out, C·kh·kw], over the batch and positions."""
        wide = self.wc != self.out_hw[1]
        dw = self._weight_grad(g, zero_junk=False)
        if wide and not np.isfinite(dw).all():
            # Junk columns may hold an input's inf or NaN, and 0·inf is NaN: redo the
            # product without them (only ever for non-finite data).
            dw = self._weight_grad(g, zero_junk=True)
        return dw

    def _weight_grad(self, g: np.ndarray, zero_junk: bool) -> np.ndarray:
        out, ow = g.shape[1], self.out_hw[1]
        wide = self.wc != ow

        def share(blocks: list[tuple[int, int, int, int]]) -> np.ndarray:
            dw = np.zeros((out, self.k), self.dtype)
            part = np.empty_like(dw)
            for g0, g1, i0, i1 in blocks:
                cols = self._columns(g0, g1, i0, i1)
                if zero_junk:
                    cols.reshape(self.k, g1 - g0, i1 - i0, self.wc)[..., ow:] = 0
                grad = g[g0:g1, :, self.blocks.columns(i0, i1)]
                if g1 - g0 > 1:  # whole samples: ∂J/∂Z as one [out, samples·columns] matrix
                    grad = grad.transpose(1, 0, 2).reshape(out, -1)
                with np.errstate(invalid="ignore") if wide and not zero_junk else nullcontext():
                    np.matmul(grad.reshape(out, -1), cols.reshape(self.k, -1).T, out=part)
                dw += part
            return dw

        # NOTE: ∂J/∂W sums over every block: each thread adds up its own share,
        # then the shares are added in a fixed order, so a pass gives the same
        # numbers every time.
        shares = run_shares(share, self.blocks.ranges)
        dw = shares[0]
        for other in shares[1:]:
            dw += other
        return dw

    def input_grad(self, w_mat: np.ndarray, g: np.ndarray) -> np.ndarray:
        """∂J/∂U: columns' gradient Wᵀ·G, then col2im; a fresh [N, C, H, W] array (a view)."""
        # The correlation copies out·kh·kw rows, col2im adds C·kh·kw: pick the smaller.
        finite = np.isfinite(w_mat).all()
        if self.correlate_back and 2 * self.x_shape[1] >= len(w_mat) and finite:
            return self._input_grad_by_correlation(w_mat, g)
        grad = np.zeros(self.pad_shape, self.dtype)
        spread = as_strided(grad, self.window_shape, self.window_strides)
        c, kh, kw = self.window_shape[:3]

        def block(at: tuple[int, int, int, int]) -> None:
            g0, g1, i0, i1 = at
            dcols = scratch(COLUMNS, (c, kh, kw, g1 - g0, i1 - i0, *self.row), self.dtype)
            np.matmul(w_mat.T, g[g0:g1, :, self.blocks.columns(i0, i1)],
                      out=dcols.reshape(self.k, g1 - g0, -1).transpose(1, 0, 2))
            if self.wc != self.out_hw[1] and not finite:
                dcols[..., self.out_hw[1]:] = 0  # inf·0 in the junk columns would be NaN
            for k1 in range(kh):
                for k2 in range(kw):
                    # NOTE: `+=`, not `=`: with overlapping windows (stride < span) one
                    # input pixel feeds several outputs, and its gradient is their sum.
                    spread[:, k1, k2, g0:g1, i0:i1] += dcols[:, k1, k2]

        # NOTE: blocks of rows of one image reach the same input rows when the
        # kernel spans more rows than its stride: those run one after another
        # (threads would race on the sums); whole samples never share a pixel.
        if self._blocks_share_pixels():
            for at in self.blocks:
                block(at)
        else:
            run_blocks(block, self.blocks.ranges)
        # NOTE: gradients that land on the zero padding are dropped (padding is
        # not an input), and with stride > 1 pixels no window reads get zero.
        return self.nchw(grad)

    def _input_grad_by_correlation(self, w_mat: np.ndarray, g: np.ndarray) -> np.ndarray:
        """∂J/∂U for stride 1 and wide rows, without col2im.

        In the flat coordinates of U_pad (t = row·Wp + column) the forward pass is
        Z[t] = Σ_taps W_tap · U_pad[t + o_tap], o_tap = dh·k1·Wp + dw·k2; so
        ∂J/∂U_pad[t] = Σ_taps W_tapᵀ · G[t − o_tap], with G zero outside the real
        outputs (the junk columns are already zero, and G sits in a buffer with
        `lead` zeros before it and `tail` after). That is a GEMM of the weights
        with columns read from G shifted back by each o_tap, made a block of
        rows of U at a time and written straight into ∂J/∂U_pad, batch-first.
        """
        (n, c, h, w), (ph, pw) = self.x_shape, self.padding
        out, (kh, kw), (dh, dw) = g.shape[1], self.kernel, self.dilation
        extended = self._extended  # g with its lead and tail of zeros
        item, rows = self.dtype.itemsize, h * self.wp
        # Only the H rows of U_pad that are not padding: t from ph·Wp, h·Wp of them.
        start = extended[:, :, self.lead + ph * self.wp:]
        shifted = as_strided(start, (out, kh, kw, n, rows),
                             (extended.strides[1], -dh * self.wp * item, -dw * item,
                              extended.strides[0], item), writeable=False)
        # Rows (m, k1, k2) of the columns meet W[m, c, k1, k2]: W with its first two axes swapped.
        w_back = w_mat.reshape(out, c, kh * kw).transpose(1, 0, 2).reshape(c, -1)
        grad = np.empty((n, c, rows), self.dtype)
        blocks = Blocks(n, h, self.wp, wanted_columns(out * kh * kw, c, item))

        def block(at: tuple[int, int, int, int]) -> None:
            g0, g1, r0, r1 = at
            cols = scratch(COLUMNS, (out, kh, kw, g1 - g0, (r1 - r0) * self.wp), self.dtype)
            np.copyto(cols, shifted[..., g0:g1, blocks.columns(r0, r1)])
            np.matmul(w_back, cols.reshape(out * kh * kw, g1 - g0, -1).transpose(1, 0, 2),
                      out=grad[g0:g1, :, blocks.columns(r0, r1)])

        run_blocks(block, blocks.ranges)
        return grad.reshape(n, c, h, self.wp)[:, :, :, pw:pw + w]
