"""Pooling's arrays in their input's own memory layout, padded and unpadded.

Pooling treats every (sample, channel) plane alike, so it works in whatever
order its input is stored (N, C, H, W, or C, H, W, N as a conv may leave
it); these make and pad arrays [N, C, H, W] stored in the same axis order.
"""

from __future__ import annotations

import numpy as np

from bpviz.engine.ops.conv import Pair


def axis_order(x: np.ndarray) -> list[int]:
    """x's axes from the outermost in memory to the innermost."""
    return sorted(range(x.ndim), key=lambda axis: -x.strides[axis])


def empty_like_layout(x: np.ndarray, shape: tuple[int, ...], dtype) -> np.ndarray:
    """An uninitialised array of `shape` whose axes are stored in the same order as x's.

    Pooling treats every (sample, channel) plane alike, so it works in whatever
    order its input is stored (N, C, H, W, or C, H, W, N as a conv may leave it):
    a kernel offset is then one strided slice whose innermost axis is x's
    innermost, and no transposed copy of the input is ever made.
    """
    order = axis_order(x)
    return np.empty([shape[axis] for axis in order], dtype).transpose(np.argsort(order))


def in_layout_of(like: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x itself if stored in like's axis order, else a copy that is (x is small here)."""
    if axis_order(x) == axis_order(like):
        return x
    copy = empty_like_layout(like, x.shape, x.dtype)
    copy[...] = x
    return copy


def padded_like(x: np.ndarray, padding: Pair, value: float) -> np.ndarray:
    """x [N, C, H, W] with `padding` pixels of `value` around H and W, in x's layout."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = x.shape
    out = empty_like_layout(x, (n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    out[:, :, :ph], out[:, :, ph + h:], out[:, :, :, :pw], out[:, :, :, pw + w:] = (
        value, value, value, value)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def unpadded(grad: np.ndarray, padding: Pair) -> np.ndarray:
    ph, pw = padding
    return grad[:, :, ph:grad.shape[2] - ph, pw:grad.shape[3] - pw]
